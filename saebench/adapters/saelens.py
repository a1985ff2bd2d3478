"""SAELens checkpoints: a folder with ``cfg.json`` and ``sae_weights.safetensors``.

Both the v6 config layout (LLM fields under ``metadata``) and the pre-6 flat layout are
read here directly, so loading a local folder does not need sae-lens installed. Hub
releases (``saelens:RELEASE/SAE_ID``) go through sae-lens when it is installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saebench.adapters.base import (
    Adapter,
    metadata_or_error,
    read_json,
    read_safetensors,
    require_keys,
)
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch

    from saebench.sae import Sae, SaeMetadata

SAELENS_LAYOUT_VERSION = "6.0.0"
CONFIG = "cfg.json"
WEIGHTS = "sae_weights.safetensors"

# SAELens architecture strings -> our architecture labels.
_ARCHITECTURES = {
    "standard": "standard",
    "topk": "topk",
    "jumprelu": "jumprelu",
    "gated": "gated",
    "batchtopk": "batchtopk",
    "matryoshka_batchtopk": "matryoshka",
    "transcoder": "transcoder",
    "skip_transcoder": "skip_transcoder",
    "jumprelu_transcoder": "jumprelu_transcoder",
    "jumprelu_skip_transcoder": "jumprelu_transcoder",
}
_NORMALIZATION = {
    None: "none",
    False: "none",
    "none": "none",
    "layer_norm": "layer_norm",
    "constant_norm_rescale": "constant_norm_rescale",
}


class SaeLensAdapter(Adapter):
    description = "SAELens folder (cfg.json + sae_weights.safetensors) or hub RELEASE/SAE_ID"

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_dir() and (path / CONFIG).exists() and (path / WEIGHTS).exists()

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        path = Path(location).expanduser()
        if path.exists():
            cfg = _with_scaler_factor(read_json(path / CONFIG), path)
            tensors = read_safetensors(path / WEIGHTS)
            return from_config(cfg, tensors, where=str(path), device=device, dtype=dtype)
        if location.count("/") >= 1 and not location.startswith((".", "/", "~")):
            return load_release(location, device=device, dtype=dtype)
        raise SaebenchError(f"{location}: no such folder, and not a RELEASE/SAE_ID hub name")


def load_release(location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
    """Download through sae-lens (needs a network and ``pip install saebench[saelens]``)."""
    release, _, sae_id = location.partition("/")
    try:
        from sae_lens import SAE
    except ImportError as exc:
        raise SaebenchError(
            f"saelens:{location} is a hub release; install sae-lens to fetch it "
            "(pip install 'saebench[saelens]') or pass a local folder"
        ) from exc
    try:
        sae = SAE.from_pretrained(release, sae_id, device="cpu")
    except Exception as exc:  # network or unknown release: say which
        raise SaebenchError(f"saelens:{location}: sae-lens could not load it ({exc})") from exc
    return from_saelens_object(sae, where=f"saelens:{location}", device=device, dtype=dtype)


def from_saelens_object(sae: Any, where: str, device="cpu", dtype=None) -> Sae:
    """Convert a live ``sae_lens.SAE`` into ours, through its config dict and state dict."""
    cfg = sae.cfg.to_dict()
    tensors = {name: t.detach().cpu() for name, t in sae.state_dict().items()}
    return from_config(cfg, tensors, where=where, device=device, dtype=dtype)


def from_config(cfg: dict[str, Any], tensors: dict, where: str, device="cpu", dtype=None) -> Sae:
    """An SAE from a SAELens config dict (v6 or pre-6) and its state dict."""
    from saebench.sae.build import build_sae, encoder_for

    cfg = _flatten_pre6(cfg)
    config_path = Path(where) / CONFIG
    require_keys(cfg, ["d_in", "d_sae", "hook_name"], config_path)
    raw_arch = cfg.get("architecture", "standard")
    if raw_arch not in _ARCHITECTURES:
        known = ", ".join(sorted(_ARCHITECTURES))
        raise SaebenchError(
            f"{config_path}: unknown architecture {raw_arch!r} (known to the saelens adapter: "
            f"{known}); load it through a python:module:factory URI"
        )
    tensors = dict(tensors)
    _drop_unit_scaling_factor(tensors, config_path)
    meta = _metadata(cfg, raw_arch, config_path, where)
    if raw_arch in _BATCH_TOPK:
        _inference_threshold(tensors, raw_arch, where)
    if cfg.get("rescale_acts_by_decoder_norm"):
        _fold_decoder_norms(tensors, raw_arch, config_path)
    # The class comes from the SAELens architecture string, whatever the label says.
    encoder = encoder_for(_ARCHITECTURES[raw_arch], where)
    return build_sae(meta, tensors, where=where, encoder=encoder, device=device, dtype=dtype)


def _metadata(cfg: dict[str, Any], raw_arch: str, config_path: Path, where: str) -> SaeMetadata:
    norm = cfg.get("normalize_activations", "none")
    if norm == "expected_average_only_in" and cfg.get("norm_scaling_factor") is None:
        raise SaebenchError(
            f"{config_path}: normalize_activations='expected_average_only_in' needs the "
            f"training run's scaling factor, which neither this file nor a {SCALER} beside "
            "it carries; set 'norm_scaling_factor' in cfg.json or fold it into the weights"
        )
    scale = cfg.get("norm_scaling_factor")
    if norm == "expected_average_only_in":
        norm = "none"
    if norm not in _NORMALIZATION:
        raise SaebenchError(
            f"{config_path}: normalize_activations={norm!r} is not supported (supported: none, "
            "layer_norm, constant_norm_rescale, expected_average_only_in)"
        )
    architecture = _ARCHITECTURES[raw_arch]
    # pydantic checks and converts every field, and names the one that is wrong
    return metadata_or_error(
        config_path,
        architecture=_trained_as(cfg, architecture),
        d_in=cfg["d_in"],
        d_sae=cfg["d_sae"],
        d_out=cfg.get("d_out"),
        hook_name=cfg["hook_name"],
        hook_name_out=cfg.get("hook_name_out"),
        hook_head_index=cfg.get("hook_head_index"),
        model_name=cfg.get("model_name"),
        apply_b_dec_to_input=cfg.get("apply_b_dec_to_input", True),
        normalize_activations=_NORMALIZATION[norm],
        input_scale=scale,
        reshape_activations=cfg.get("reshape_activations") or "none",
        # k means "per-token TopK" to us; BatchTopK's average k is kept in extra.
        k=cfg.get("k") if architecture == "topk" else None,
        context_size=cfg.get("context_size"),
        prepend_bos=cfg.get("prepend_bos", True),
        sequence_separator=_separator(cfg.get("sequence_separator_token", "unset")),
        dataset_path=cfg.get("dataset_path"),
        source=where,
        extra=_training_details(cfg),
    )


def _separator(value: Any) -> str | int | None:
    """SAELens's ``sequence_separator_token`` ("bos", "eos", "sep", an id, or null for none);
    absent means the config does not say."""
    if value == "unset":
        return None
    return "none" if value is None else value


def _trained_as(cfg: dict[str, Any], architecture: str) -> str:
    """BatchTopK and Matryoshka SAEs are saved as JumpReLU; keep their training label.

    Folders written by saebench carry their label in ``saebench_architecture``.
    """
    if cfg.get("saebench_architecture"):
        return cfg["saebench_architecture"]
    trained = _ARCHITECTURES.get(cfg.get("training_architecture") or "")
    if architecture == "jumprelu" and trained in ("batchtopk", "matryoshka"):
        return trained
    return architecture


def _training_details(cfg: dict[str, Any]) -> dict[str, Any]:
    details = cfg.get("training_architecture_details") or {}
    keep = {key: details[key] for key in ("k", "matryoshka_widths") if key in details}
    if cfg.get("matryoshka_widths"):
        keep["matryoshka_widths"] = cfg["matryoshka_widths"]
    return keep


def _flatten_pre6(cfg: dict[str, Any]) -> dict[str, Any]:
    """One flat dict whatever the SAELens version: v6 nests LLM fields under metadata."""
    flat = {**cfg, **(cfg.get("metadata") or {})}
    renames = {"hook_point": "hook_name", "hook_point_head_index": "hook_head_index"}
    for old, new in renames.items():
        if old in flat and flat.get(new) is None:
            flat[new] = flat[old]
    act_fn = flat.get("activation_fn_str") or flat.get("activation_fn")
    if "architecture" not in flat:
        flat["architecture"] = "topk" if act_fn == "topk" else "standard"
    if act_fn == "topk" and flat.get("k") is None:
        flat["k"] = (flat.get("activation_fn_kwargs") or {}).get("k")
    norm = flat.get("normalize_activations")
    if norm is True:
        flat["normalize_activations"] = "expected_average_only_in"
    if flat.get("reshape_activations") is None and "hook_z" in str(flat.get("hook_name")):
        flat["reshape_activations"] = "hook_z"
    return flat


_BATCH_TOPK = ("batchtopk", "matryoshka_batchtopk")
# The TopK family, whose codes sae-lens can compute on decoder-norm-rescaled pre-activations.
_RESCALABLE = ("topk", *_BATCH_TOPK)


def _inference_threshold(tensors: dict, raw_arch: str, where: str) -> None:
    """A BatchTopK training checkpoint keeps one learnt ``topk_threshold``; sae-lens's
    inference save broadcasts it to every latent as the JumpReLU ``threshold``."""
    learnt = tensors.pop("topk_threshold", None)
    if "threshold" in tensors:
        return
    if learnt is None:
        raise SaebenchError(
            f"{where}: a {raw_arch} SAE needs its threshold (tensor 'threshold' of the "
            "inference save or 'topk_threshold' of a training checkpoint); neither is in "
            f"{WEIGHTS}"
        )
    tensors["threshold"] = learnt.to(tensors["W_enc"].dtype).expand(tensors["b_enc"].shape)


def _fold_decoder_norms(tensors: dict, raw_arch: str, config_path: Path) -> None:
    """Fold ``rescale_acts_by_decoder_norm`` into the weights, exactly as sae-lens's
    inference save does: pre-activations are multiplied by the decoder row norms before
    TopK (or the BatchTopK threshold, learnt on those same rescaled values, which is why the
    threshold is left as it is), and codes divided by them before decoding."""
    if raw_arch not in _RESCALABLE:
        raise SaebenchError(
            f"{config_path}: rescale_acts_by_decoder_norm=true on a {raw_arch!r} SAE, which "
            "sae-lens only defines for TopK, BatchTopK and Matryoshka BatchTopK SAEs; set it "
            "to false if the weights were already folded"
        )
    W_dec = tensors["W_dec"]
    norms = W_dec.float().norm(dim=-1).clamp_min(1e-8)  # sae-lens's get_W_dec_norm
    tensors["W_enc"] = (tensors["W_enc"].float() * norms).to(tensors["W_enc"].dtype)
    tensors["b_enc"] = (tensors["b_enc"].float() * norms).to(tensors["b_enc"].dtype)
    tensors["W_dec"] = (W_dec.float() / norms[:, None]).to(W_dec.dtype)


SCALER = "activation_scaler.json"


def _with_scaler_factor(cfg: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The factor of ``expected_average_only_in``, from the ``activation_scaler.json`` that
    sae-lens's trainer writes beside each checkpoint (the trainer multiplies inputs by it
    before the SAE and divides outputs by it after; the final save folds it in)."""
    flat = _flatten_pre6(cfg)
    if flat.get("normalize_activations") != "expected_average_only_in":
        return cfg
    if flat.get("norm_scaling_factor") is not None:
        return cfg
    file = folder / SCALER
    if not file.is_file():
        raise SaebenchError(
            f"{folder / CONFIG}: normalize_activations='expected_average_only_in' needs the "
            f"training run's scaling factor, from {SCALER} beside it (sae-lens writes it with "
            "every checkpoint); copy that file here or set 'norm_scaling_factor' in cfg.json"
        )
    factor = read_json(file).get("scaling_factor")
    if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor <= 0:
        raise SaebenchError(
            f"{file}: scaling_factor is {factor!r}, not a positive number; the checkpoint was "
            "saved before sae-lens estimated it, use a later checkpoint"
        )
    return {**cfg, "norm_scaling_factor": float(factor)}


def _drop_unit_scaling_factor(tensors: dict, where: Path) -> None:
    import torch

    scale = tensors.pop("scaling_factor", None)
    if scale is not None and not torch.allclose(scale, torch.ones_like(scale)):
        raise SaebenchError(
            f"{where}: the weights carry a finetuning scaling_factor that is not all ones; "
            "fold it into W_dec before evaluating"
        )


_LABEL_TO_SAELENS = {
    "standard": "standard",
    "relu": "standard",
    "topk": "topk",
    "jumprelu": "jumprelu",
    "batchtopk": "jumprelu",
    "matryoshka": "jumprelu",
    "gated": "gated",
    "transcoder": "transcoder",
    "skip_transcoder": "skip_transcoder",
    "jumprelu_transcoder": "jumprelu_transcoder",
}


def save_saelens(sae: Sae, path: Path | str) -> Path:
    """Write an SAE as a SAELens v6 folder (cfg.json + sae_weights.safetensors).

    Labels SAELens has no inference class for (batchtopk, matryoshka, baselines) are saved
    as the class they encode with; the label survives in ``metadata.saebench_architecture``.
    """
    from safetensors.torch import save_file

    from saebench.files import atomic_write_text

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    cfg = _saelens_cfg(sae)
    tensors = {
        ("b_gate" if name == "b_enc" and sae.encoder_kind == "gated" else name): t.contiguous()
        for name, t in sae.named_tensors().items()
    }
    save_file(tensors, str(path / WEIGHTS))
    atomic_write_text(path / CONFIG, json.dumps(cfg, indent=2))
    return path


def _saelens_cfg(sae: Sae) -> dict:
    """The ``cfg.json`` of :func:`save_saelens`: SAELens 6's fields, then what only it keeps."""
    import torch

    meta = sae.meta
    cfg = {
        "architecture": _saelens_architecture(sae),
        "d_in": meta.d_in,
        "d_sae": meta.d_sae,
        "dtype": "float32" if sae.dtype == torch.float32 else str(sae.dtype)[6:],
        "apply_b_dec_to_input": meta.apply_b_dec_to_input,
        "normalize_activations": meta.normalize_activations,
        "reshape_activations": meta.reshape_activations,
        "metadata": {
            # the layout is SAELens 6's; without this marker sae-lens reads the file as pre-6
            # and loses everything under "metadata" (hook name, context size, ...)
            "sae_lens_version": SAELENS_LAYOUT_VERSION,
            "model_name": meta.model_name,
            "hook_name": meta.hook_name,
            "hook_head_index": meta.hook_head_index,
            "context_size": meta.context_size,
            "prepend_bos": meta.prepend_bos,
            "dataset_path": meta.dataset_path,
            "saebench_architecture": meta.architecture,
        },
    }
    _add_optional_fields(cfg, meta)
    return cfg


def _saelens_architecture(sae: Sae) -> str:
    """SAELens's class name for ``sae``: its label's, else the one its encoder computes."""
    arch = _LABEL_TO_SAELENS.get(
        sae.meta.architecture, sae.encoder_kind.replace("relu", "standard")
    )
    if arch == "standard" and sae.encoder_kind != "relu":
        arch = {"topk": "topk", "jumprelu": "jumprelu", "gated": "gated"}[sae.encoder_kind]
    return arch


def _add_optional_fields(cfg: dict, meta: SaeMetadata) -> None:
    """The fields written only when set (k, input scale, training details, separator, the
    transcoder's output side)."""
    if meta.k is not None:
        cfg["k"] = meta.k
    if meta.input_scale is not None:  # read back by this adapter; sae-lens ignores it
        cfg["norm_scaling_factor"] = meta.input_scale
    if meta.extra:  # BatchTopK's k, Matryoshka's widths: where _training_details finds them
        cfg["metadata"]["training_architecture_details"] = meta.extra
    if meta.sequence_separator is not None:
        separator = meta.sequence_separator
        cfg["metadata"]["sequence_separator_token"] = None if separator == "none" else separator
    if meta.is_transcoder:
        cfg["d_out"] = meta.width_out
        cfg["metadata"]["hook_name_out"] = meta.hook_name_out
