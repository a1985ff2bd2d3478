"""dictionary_learning (saprmarks) trainer folders: ``config.json`` + ``ae.pt``.

``ae.pt`` is either the final bare state dict or, while training runs, the backup dict
``{"step", "ae", "optimizer", "config", "norm_factor"}``. A backup holds the SAE in the
normalised activation space; its biases (and thresholds) are multiplied by ``norm_factor``
here, exactly as the library does before its final save, so both files work on raw
activations.

Supported ``trainer.dict_class`` (or, in old configs, the ``trainer_class`` that implies it):

========================== ============= =================================================
dict_class                 architecture  inference
========================== ============= =================================================
AutoEncoder                standard      ``relu(enc(x - bias))``; decoder columns are
                                         normalised with the norms folded into the encoder,
                                         as ``AutoEncoder.from_pretrained`` does
AutoEncoderNew             standard      ``relu(enc(x))``, ``dec(f)`` with decoder bias
GatedAutoEncoder           gated         gate and magnitude paths, ``b_dec`` subtracted
JumpReluAutoEncoder        jumprelu      ``apply_b_dec_to_input=False`` (the library default)
AutoEncoderTopK            topk          per-token top-k (the library's default encode)
BatchTopKSAE               batchtopk     the learnt global threshold (JumpReLU)
MatryoshkaBatchTopKSAE     matryoshka    the learnt global threshold; ``group_sizes`` kept
                                         in ``meta.extra``
========================== ============= =================================================

A BatchTopK or Matryoshka SAE whose threshold is still -1 (training stopped before
``threshold_start_step``) is refused: it has no inference form.

A path may also name the weights file itself: ``trainer_0/ae.pt`` or an intermediate
``trainer_0/checkpoints/ae_STEP.pt`` (saved with the norm factor already folded in).

Hook: ``trainer.submodule_name`` of the form ``resid_post_layer_L`` / ``resid_pre_layer_L``
/ ``mlp_out_layer_L`` / ``attn_out_layer_L`` (or a TransformerLens name) maps to
``blocks.L.hook_...``; without one, ``trainer.layer`` gives ``blocks.L.hook_resid_post``
(``hook_resid_pre`` when ``buffer.io == "in"``). Anything else (a custom submodule, a
transcoder ``io="in_and_out"``) needs ``{"hook_name": ...}`` in a ``saebench.json`` beside
``ae.pt``, which also overrides everything inferred.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saebench.adapters.base import (
    Adapter,
    existing_path,
    metadata_or_error,
    read_json,
    read_sidecar,
    read_torch,
)
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from saebench.sae import Sae

CONFIG = "config.json"
WEIGHTS = "ae.pt"
_BACKUP_KEYS = {"step", "ae", "optimizer", "config"}
_TRAINER_TO_DICT = {
    "StandardTrainer": "AutoEncoder",
    "StandardTrainerAprilUpdate": "AutoEncoder",
    "PAnnealTrainer": "AutoEncoder",
    "TopKTrainer": "AutoEncoderTopK",
    "BatchTopKTrainer": "BatchTopKSAE",
    "MatryoshkaBatchTopKTrainer": "MatryoshkaBatchTopKSAE",
    "GatedSAETrainer": "GatedAutoEncoder",
    "JumpReluTrainer": "JumpReluAutoEncoder",
}
_SUBMODULE = re.compile(r"^(resid_post|resid_pre|mlp_out|mlp|attn_out|attn)_layer_(\d+)$")
_SUBMODULE_HOOKS = {
    "resid_post": "hook_resid_post",
    "resid_pre": "hook_resid_pre",
    "mlp_out": "hook_mlp_out",
    "mlp": "hook_mlp_out",
    "attn_out": "hook_attn_out",
    "attn": "hook_attn_out",
}
_BIASES = ("b_enc", "b_dec", "b_gate", "b_mag", "threshold")


class DictionaryLearningAdapter(Adapter):
    description = "dictionary_learning trainer folder (config.json + ae.pt)"

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.is_file():
            named = path.suffix == ".pt" and path.name.startswith("ae")
            return named and (_config_folder(path) / CONFIG).is_file()
        return path.is_dir() and (path / CONFIG).is_file() and (path / WEIGHTS).is_file()

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        from saebench.sae import build_sae

        path = existing_path(location, "dictionary_learning")
        folder = _config_folder(path) if path.is_file() else path
        weights = path if path.is_file() else folder / WEIGHTS
        state, backup = _read_weights(weights)
        cfg = _read_config(folder, backup)
        trainer = cfg["trainer"]
        dict_class = _dict_class(trainer, folder / CONFIG)
        convert = _CONVERTERS[dict_class]
        tensors, fields = convert(_tensors(state, weights), trainer, weights)
        norm_factor = backup.get("norm_factor") if backup else None
        if norm_factor is not None:
            tensors = _fold_norm_factor(tensors, float(norm_factor))
        extra = {"dict_class": dict_class, **fields.pop("extra", {})}
        if backup:
            extra.update(backup_step=backup.get("step"), norm_factor_folded=norm_factor)
        buffer = cfg.get("buffer") or {}
        fields.update(
            d_in=tensors["W_enc"].shape[0],
            d_sae=tensors["W_enc"].shape[1],
            model_name=trainer.get("lm_name"),
            context_size=buffer.get("ctx_len"),
            source=str(folder),
            extra=extra,
        )
        fields.update(_placement(trainer, buffer, folder))
        meta = metadata_or_error(folder / CONFIG, **fields)
        return build_sae(meta, tensors, where=str(weights), device=device, dtype=dtype)


# -- files ----------------------------------------------------------------------------------
def _config_folder(weights: Path) -> Path:
    """The trainer folder of a weights file: ae.pt sits in it, checkpoints/ae_STEP.pt below."""
    folder = weights.parent
    if not (folder / CONFIG).is_file() and folder.name == "checkpoints":
        return folder.parent
    return folder


def _read_weights(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The state dict, and the training-backup dict it came from (None for a final save)."""
    obj = read_torch(path)
    if not isinstance(obj, dict):
        raise SaebenchError(
            f"{path}: expected a state dict, found {type(obj).__name__}; save the SAE with "
            "torch.save(ae.state_dict(), path)"
        )
    if set(obj) >= _BACKUP_KEYS and isinstance(obj["ae"], dict):
        return obj["ae"], obj
    return obj, None


def _read_config(folder: Path, backup: dict[str, Any] | None) -> dict[str, Any]:
    path = folder / CONFIG
    if not path.is_file() and backup and isinstance(backup.get("config"), dict):
        return {"trainer": backup["config"]}  # a backup carries the trainer config too
    cfg = read_json(path)
    if not isinstance(cfg.get("trainer"), dict):
        raise SaebenchError(
            f"{path}: missing the 'trainer' object (dictionary_learning writes "
            '{"trainer": trainer.config, "buffer": ...}); is this a dictionary_learning folder?'
        )
    return cfg


def _dict_class(trainer: dict[str, Any], path: Path) -> str:
    name = trainer.get("dict_class") or _TRAINER_TO_DICT.get(trainer.get("trainer_class") or "")
    if name is None:
        raise SaebenchError(
            f"{path}: missing key trainer.dict_class (and no known trainer.trainer_class); "
            f"set it to one of {', '.join(sorted(_CONVERTERS))}"
        )
    if name not in _CONVERTERS:
        raise SaebenchError(
            f"{path}: trainer.dict_class {name!r} is not supported by the dictionary_learning "
            f"adapter (supported: {', '.join(sorted(_CONVERTERS))}); load it through a "
            "python:module:factory URI"
        )
    return name


def _tensors(state: dict[str, Any], path: Path) -> dict[str, Tensor]:
    import torch

    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise SaebenchError(f"{path}: holds no tensors; is it a dictionary_learning ae.pt?")
    return tensors


def _need(state: dict[str, Tensor], names: list[str], path: Path, dict_class: str) -> None:
    missing = [name for name in names if name not in state]
    if missing:
        raise SaebenchError(
            f"{path}: missing tensor(s) {', '.join(missing)} for a {dict_class}; found "
            f"{', '.join(sorted(state))}. Is trainer.dict_class in config.json right?"
        )


# -- one converter per dict_class: library tensors -> canonical tensors + metadata fields ---
if TYPE_CHECKING:
    Converted = tuple[dict[str, Tensor], dict[str, Any]]


def _autoencoder(state: dict[str, Tensor], trainer: dict, path: Path) -> Converted:
    import torch

    _need(state, ["bias", "encoder.weight", "encoder.bias", "decoder.weight"], path, "AutoEncoder")
    W_enc, b_enc, W_dec = (
        state["encoder.weight"].T,
        state["encoder.bias"],
        state["decoder.weight"].T,
    )
    # AutoEncoder.from_pretrained(normalize_decoder=True): unit decoder rows, same output.
    norms = W_dec.norm(dim=1)
    scale = torch.where(norms > 0, norms, torch.ones_like(norms))
    tensors = {
        "W_enc": W_enc * scale,
        "b_enc": b_enc * scale,
        "W_dec": W_dec / scale[:, None],
        "b_dec": state["bias"],
    }
    return tensors, {"architecture": "standard", "apply_b_dec_to_input": True}


def _autoencoder_new(state: dict[str, Tensor], trainer: dict, path: Path) -> Converted:
    names = ["encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]
    _need(state, names, path, "AutoEncoderNew")
    tensors = {
        "W_enc": state["encoder.weight"].T,
        "b_enc": state["encoder.bias"],
        "W_dec": state["decoder.weight"].T,
        "b_dec": state["decoder.bias"],
    }
    return tensors, {"architecture": "standard", "apply_b_dec_to_input": False}


def _gated(state: dict[str, Tensor], trainer: dict, path: Path) -> Converted:
    names = ["decoder_bias", "encoder.weight", "r_mag", "gate_bias", "mag_bias", "decoder.weight"]
    _need(state, names, path, "GatedAutoEncoder")
    tensors = {
        "W_enc": state["encoder.weight"].T,
        "b_gate": state["gate_bias"],
        "b_mag": state["mag_bias"],
        "r_mag": state["r_mag"],
        "W_dec": state["decoder.weight"].T,
        "b_dec": state["decoder_bias"],
    }
    return tensors, {"architecture": "gated", "apply_b_dec_to_input": True}


def _jumprelu(state: dict[str, Tensor], trainer: dict, path: Path) -> Converted:
    names = ["W_enc", "b_enc", "W_dec", "b_dec", "threshold"]
    _need(state, names, path, "JumpReluAutoEncoder")
    tensors = {name: state[name] for name in names}
    return tensors, {"architecture": "jumprelu", "apply_b_dec_to_input": False}


def _topk(state: dict[str, Tensor], trainer: dict, path: Path) -> Converted:
    _need(state, ["encoder.weight", "encoder.bias", "decoder.weight", "b_dec"], path, "TopK SAE")
    tensors = {
        "W_enc": state["encoder.weight"].T,
        "b_enc": state["encoder.bias"],
        "W_dec": state["decoder.weight"].T,
        "b_dec": state["b_dec"],
    }
    k = _k(state, trainer, path)
    return tensors, {"architecture": "topk", "apply_b_dec_to_input": True, "k": k}


def _batch_topk(state: dict[str, Tensor], trainer: dict, path: Path) -> Converted:
    tensors, _ = _topk(state, trainer, path)
    tensors["threshold"] = _global_threshold(state, path, "BatchTopKSAE").to(tensors["W_enc"])
    extra = {"k": _k(state, trainer, path)}
    return tensors, {"architecture": "batchtopk", "apply_b_dec_to_input": True, "extra": extra}


def _matryoshka(state: dict[str, Tensor], trainer: dict, path: Path) -> Converted:
    _need(state, ["W_enc", "b_enc", "W_dec", "b_dec"], path, "MatryoshkaBatchTopKSAE")
    tensors = {name: state[name] for name in ("W_enc", "b_enc", "W_dec", "b_dec")}
    threshold = _global_threshold(state, path, "MatryoshkaBatchTopKSAE")
    tensors["threshold"] = threshold.to(tensors["W_enc"])
    sizes = state.get("group_sizes")
    group_sizes = sizes.tolist() if sizes is not None else trainer.get("group_sizes")
    if group_sizes is not None and sum(group_sizes) != tensors["W_enc"].shape[1]:
        raise SaebenchError(
            f"{path}: group_sizes {group_sizes} do not sum to dict_size "
            f"{tensors['W_enc'].shape[1]}; the file is inconsistent"
        )
    extra = {"k": _k(state, trainer, path), "group_sizes": group_sizes}
    return tensors, {"architecture": "matryoshka", "apply_b_dec_to_input": True, "extra": extra}


def _k(state: dict[str, Tensor], trainer: dict, path: Path) -> int:
    saved = int(state["k"].item()) if "k" in state else None
    configured = trainer.get("k")
    if saved is not None and configured is not None and int(configured) != saved:
        raise SaebenchError(
            f"{path}: k={saved} in ae.pt but trainer.k={configured} in config.json; "
            "fix whichever is wrong"
        )
    k = saved if saved is not None else configured
    if k is None or int(k) <= 0:
        raise SaebenchError(f"{path}: no positive k in ae.pt or in config.json trainer.k")
    return int(k)


def _global_threshold(state: dict[str, Tensor], path: Path, dict_class: str) -> Tensor:
    threshold = state.get("threshold")
    if threshold is None:
        raise SaebenchError(
            f"{path}: this {dict_class} has no 'threshold' tensor, so no inference form; "
            "retrain with a dictionary_learning version that tracks the threshold"
        )
    if threshold.numel() != 1 or float(threshold.reshape(-1)[0]) < 0:
        raise SaebenchError(
            f"{path}: the {dict_class} threshold is {threshold.tolist()} (unset: training stopped "
            "before threshold_start_step); it has no inference threshold. Train past "
            "threshold_start_step, or set a threshold >= 0 in the state dict"
        )
    return threshold.reshape(())


_CONVERTERS: dict[str, Callable[[dict, dict, Path], Converted]] = {
    "AutoEncoder": _autoencoder,
    "AutoEncoderNew": _autoencoder_new,
    "GatedAutoEncoder": _gated,
    "JumpReluAutoEncoder": _jumprelu,
    "AutoEncoderTopK": _topk,
    "BatchTopKSAE": _batch_topk,
    "MatryoshkaBatchTopKSAE": _matryoshka,
}


def _fold_norm_factor(tensors: dict[str, Tensor], norm_factor: float) -> dict[str, Tensor]:
    """What ``scale_biases(norm_factor)`` does before the library's final save."""
    if norm_factor <= 0:
        raise SaebenchError(f"norm_factor {norm_factor} in the backup ae.pt must be positive")
    return {k: v * norm_factor if k in _BIASES else v for k, v in tensors.items()}


# -- where the SAE sits ---------------------------------------------------------------------
def _placement(trainer: dict[str, Any], buffer: dict[str, Any], folder: Path) -> dict[str, Any]:
    sidecar = read_sidecar(folder)
    if "hook_name" not in sidecar:
        sidecar = {"hook_name": _hook_name(trainer, buffer, folder), **sidecar}
    return sidecar


def _hook_name(trainer: dict[str, Any], buffer: dict[str, Any], folder: Path) -> str:
    io = buffer.get("io", "out")
    sub = trainer.get("submodule_name")
    layer = trainer.get("layer")
    fix = (
        f'; add {{"hook_name": "blocks.L.hook_resid_post"}} (the TransformerLens hook the SAE '
        f"reads) in a saebench.json in {folder}"
    )
    if io not in ("in", "out"):
        raise SaebenchError(
            f"{folder / CONFIG}: buffer.io={io!r} (a transcoder) is not mapped{fix}"
        )
    if sub and str(sub).startswith(("blocks.", "hook_")):
        return str(sub)
    if sub and (m := _SUBMODULE.match(str(sub))):
        kind, layer = m.group(1), int(m.group(2))
        if io == "in" and kind not in ("resid_post", "resid_pre"):
            norm = "ln2" if kind.startswith("mlp") else "ln1"
            raise SaebenchError(
                f"{folder / CONFIG}: the input of {sub} is not mapped; add "
                f'{{"hook_name": "blocks.{layer}.{norm}.hook_out"}} (the norm\'s output, which '
                f"the module reads) or the hook it was trained on in a saebench.json in {folder}"
            )
        if io == "in":
            kind = "resid_pre"
        return f"blocks.{layer}.{_SUBMODULE_HOOKS[kind]}"
    if sub:
        raise SaebenchError(f"{folder / CONFIG}: trainer.submodule_name {sub!r} is not mapped{fix}")
    if layer is None:
        raise SaebenchError(f"{folder / CONFIG}: missing key trainer.layer{fix}")
    return f"blocks.{int(layer)}.{'hook_resid_pre' if io == 'in' else 'hook_resid_post'}"
