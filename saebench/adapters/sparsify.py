"""EleutherAI sparsify folders: ``cfg.json`` + ``sae.safetensors``, one folder per hookpoint.

Tensors: ``encoder.weight [d_sae, d_in]``, ``encoder.bias``, ``W_dec [d_sae, d_in]`` (already
canonical: it is **not** transposed, unlike what SAELens's ``sparsify`` converter does),
``b_dec``, and ``W_skip [d_in, d_in]`` with ``skip_connection``. Sparsify always subtracts
``b_dec`` from the input of an autoencoder and never for a transcoder (``transcode``).
``activation`` is ``topk`` (TopK with ``k``) or ``groupmax`` (``k`` equal groups, one
winner each). ``num_latents=0`` means ``d_in * expansion_factor``.

Hook: sparsify hookpoints are Hugging Face module names, and the folder is named after its
hookpoint. The output of a module maps to TransformerLens as
``layers.N`` -> ``blocks.N.hook_resid_post``, ``layers.N.mlp`` -> ``blocks.N.hook_mlp_out``,
``layers.N.self_attn`` (``attn``, ``attention``) -> ``blocks.N.hook_attn_out``,
``embed_tokens`` (``embed_in``, ``wte``) -> ``hook_embed``; prefixes such as ``model.``,
``gpt_neox.`` or ``transformer.`` (and ``h.N`` for ``layers.N``) are accepted. A transcoder
reads the module's input: ``layers.N.mlp`` reads ``blocks.N.ln2.hook_out`` (the norm's
output with its gain and bias, not TransformerLens's ``ln2.hook_normalized``, which is taken
before them; see :mod:`saebench.models.hooks`), ``layers.N`` reads
``blocks.N.hook_resid_pre``. Another folder name needs
``{"hook_name": ...}`` in a ``saebench.json`` beside ``cfg.json``; that file also overrides
what is inferred. The model name comes from the run's ``config.json`` one folder up, if any.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saebench.adapters.base import (
    Adapter,
    existing_path,
    metadata_or_error,
    read_json,
    read_safetensors,
    read_sidecar,
)
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from saebench.sae import Sae

CONFIG = "cfg.json"
WEIGHTS = "sae.safetensors"
_PREFIXES = ("base_model.model.", "model.", "gpt_neox.", "transformer.")
_BLOCK = re.compile(r"^(?:layers|h)\.(\d+)(?:\.(mlp|self_attn|attn|attention))?$")
_EMBEDS = ("embed_tokens", "embed_in", "wte")
# Options that change the forward pass in ways this adapter does not implement.
_REFUSED = {
    "embed_skip": "a skip connection from the embeddings",
    "gram_lookup": "an n-gram lookup subtracted from the input",
    "signed": "signed activations",
}


class SparsifyAdapter(Adapter):
    description = "EleutherAI sparsify folder (cfg.json + sae.safetensors), TopK or GroupMax"

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.is_file() and path.name == WEIGHTS:
            path = path.parent
        return path.is_dir() and (path / CONFIG).is_file() and (path / WEIGHTS).is_file()

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        from saebench.sae import build_sae

        path = existing_path(location, "sparsify")
        folder = path.parent if path.is_file() else path
        cfg = _read_config(folder / CONFIG)
        raw = read_safetensors(folder / WEIGHTS)
        tensors = _canonical(raw, cfg, folder / WEIGHTS)
        d_in, d_sae = tensors["W_enc"].shape
        fields: dict[str, Any] = dict(
            architecture=_architecture(cfg),
            d_in=d_in,
            d_sae=d_sae,
            k=int(cfg["k"]),
            apply_b_dec_to_input=not cfg["transcode"],
            source=str(folder),
            model_name=_model_name(folder),
            extra={"hookpoint": folder.name, "expansion_factor": cfg.get("expansion_factor")},
        )
        fields.update(_placement(folder, cfg["transcode"]))
        if fields.get("hook_name_out") not in (None, fields["hook_name"]):
            fields["d_out"] = tensors["W_dec"].shape[1]
        meta = metadata_or_error(folder / CONFIG, **fields)
        return build_sae(meta, tensors, where=str(folder / WEIGHTS), device=device, dtype=dtype)


def _read_config(path: Path) -> dict[str, Any]:
    cfg = read_json(path)
    if "d_in" not in cfg:
        raise SaebenchError(f"{path}: missing key d_in; sparsify's save_to_disk writes it")
    for key, what in _REFUSED.items():
        if cfg.get(key):
            raise SaebenchError(
                f"{path}: {key}=true ({what}) is not supported by the sparsify adapter; "
                "load it through a python:module:factory URI"
            )
    activation = cfg.get("activation", "topk")  # old EleutherAI/sae configs lack the field
    if activation not in ("topk", "groupmax"):
        raise SaebenchError(
            f"{path}: unknown activation {activation!r}; sparsify has 'topk' and 'groupmax'"
        )
    k = cfg.get("k", 32)
    if not isinstance(k, int) or k <= 0:
        raise SaebenchError(f"{path}: k must be a positive integer, found {k!r}")
    return {
        **cfg,
        "activation": activation,
        "k": k,
        "transcode": bool(cfg.get("transcode", False)),
        "skip_connection": bool(cfg.get("skip_connection", False)),
    }


def _architecture(cfg: dict[str, Any]) -> str:
    base = "groupmax" if cfg["activation"] == "groupmax" else "topk"
    return f"{base}_transcoder" if cfg["transcode"] else base


def _canonical(raw: dict[str, Tensor], cfg: dict[str, Any], where: Path) -> dict[str, Tensor]:
    names = ["encoder.weight", "encoder.bias", "W_dec", "b_dec"]
    missing = [name for name in names if name not in raw]
    if missing:
        raise SaebenchError(
            f"{where}: missing tensor(s) {', '.join(missing)} (found "
            f"{', '.join(sorted(raw)) or 'none'}); a sparsify file needs {', '.join(names)}"
        )
    if cfg["skip_connection"] != ("W_skip" in raw):
        state = "has no" if cfg["skip_connection"] else "has a"
        raise SaebenchError(
            f"{where}: cfg.json says skip_connection={cfg['skip_connection']} but the file "
            f"{state} W_skip tensor; the config and weights do not belong together"
        )
    d_in = int(cfg["d_in"])
    num_latents = int(cfg.get("num_latents") or 0) or d_in * int(cfg.get("expansion_factor", 32))
    encoder = raw["encoder.weight"]
    if tuple(encoder.shape) != (num_latents, d_in):
        raise SaebenchError(
            f"{where}: encoder.weight has shape {tuple(encoder.shape)} but cfg.json "
            f"(d_in={d_in}, num_latents={num_latents}) needs {(num_latents, d_in)}"
        )
    tensors = {
        "W_enc": encoder.T.contiguous(),
        "b_enc": raw["encoder.bias"],
        "W_dec": raw["W_dec"],  # already [d_sae, d_in]: no transpose
        "b_dec": raw["b_dec"],
    }
    if "W_skip" in raw:
        tensors["W_skip"] = raw["W_skip"]  # used as x @ W_skip.T, i.e. [d_out, d_in]
    return tensors


def _placement(folder: Path, transcode: bool) -> dict[str, Any]:
    sidecar = read_sidecar(folder)
    if "hook_name" in sidecar:
        return sidecar
    hooks = hooks_for_hookpoint(folder.name, transcode)
    if hooks is None:
        raise SaebenchError(
            f"{folder}: cannot map the sparsify hookpoint {folder.name!r} (the folder name) to "
            "a TransformerLens hook; add "
            '{"hook_name": "blocks.L.hook_resid_post"} '
            f"in a saebench.json in {folder}"
        )
    hook_in, hook_out = hooks
    return {"hook_name": hook_in, "hook_name_out": hook_out, **sidecar}


def hooks_for_hookpoint(hookpoint: str, transcode: bool = False) -> tuple[str, str | None] | None:
    """``(input hook, output hook or None)`` in TransformerLens names for a sparsify hookpoint.

    Example:
        >>> hooks_for_hookpoint("layers.6.mlp")
        ('blocks.6.hook_mlp_out', None)
    """
    name = hookpoint
    for prefix in _PREFIXES:
        name = name.removeprefix(prefix)
    if name in _EMBEDS:
        return None if transcode else ("hook_embed", None)
    m = _BLOCK.match(name)
    if m is None:
        return None
    layer, module = int(m.group(1)), m.group(2)
    if module is None:
        outputs, inputs = "hook_resid_post", "hook_resid_pre"
    elif module == "mlp":
        outputs, inputs = "hook_mlp_out", "ln2.hook_out"
    else:
        outputs, inputs = "hook_attn_out", "ln1.hook_out"
    if transcode:
        return f"blocks.{layer}.{inputs}", f"blocks.{layer}.{outputs}"
    return f"blocks.{layer}.{outputs}", None


def _model_name(folder: Path) -> str | None:
    """The model of the training run, from ``config.json`` at the run's root (optional)."""
    run_config = folder.parent / "config.json"
    if not run_config.is_file():
        return None
    try:
        cfg = json.loads(run_config.read_text())
    except (OSError, ValueError):
        return None  # not ours to judge: the run config is optional provenance
    model = cfg.get("model") if isinstance(cfg, dict) else None
    return model if isinstance(model, str) else None
