"""Load the shipped zoo model: a 4-layer TransformerLens ``HookedTransformer`` and its tokenizer.

Example:
    >>> from saebench.zoo.model import load_model
    >>> model = load_model()
    >>> logits = model("As everyone knows, Kyoto is a city in the country of")
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

MODEL_NAME = "saebench-zoo"
# Buffers that HookedTransformer rebuilds itself; older files may lack them.
REBUILT_BUFFERS = ("attn.mask", "attn.IGNORE")


def model_dir() -> Path:
    """The folder holding ``config.json``, ``model.safetensors``, the tokenizer files and
    ``metrics.json`` of the shipped model."""
    return Path(__file__).parent / "model"


def config_kwargs(path: Path | None = None) -> dict:
    """The ``HookedTransformerConfig`` keyword arguments saved in ``config.json`` (all of
    its fields but the bundle's ``revision``)."""
    fields = json.loads(((path or model_dir()) / "config.json").read_text())
    fields.pop("revision", None)
    return fields


def revision(path: Path | None = None) -> str | None:
    """The bundle revision ``config.json`` names (records carry it as the model revision)."""
    return json.loads(((path or model_dir()) / "config.json").read_text()).get("revision")


def load_model(device: str = "cpu", dtype: torch.dtype = torch.float32, path: Path | None = None):
    """The zoo model, read from the package (or from ``path``) without any network access.

    Raises ``FileNotFoundError`` naming the rebuild command when the files are missing.
    """
    from safetensors.torch import load_file
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    from saebench.zoo.tokenizer import load_tokenizer

    folder = path or model_dir()
    weights = folder / "model.safetensors"
    if not weights.is_file() or not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder}: no zoo model there; rebuild it with `python -m saebench.zoo.build.zoo_model`"
        )
    cfg = HookedTransformerConfig(**config_kwargs(folder), device=device, dtype=dtype)
    model = HookedTransformer(cfg, tokenizer=load_tokenizer(folder), move_to_device=False)
    state = load_file(str(weights))
    missing, unexpected = model.load_state_dict(state, strict=False)
    wrong = [k for k in missing if not k.endswith(REBUILT_BUFFERS)] + list(unexpected)
    if wrong:
        raise ValueError(f"{weights}: does not match config.json (keys {wrong[:5]})")
    model = model.to(dtype, print_details=False).to(device, print_details=False)
    model.cfg.revision = revision(folder)
    return model.eval()


def saved_state_dict(model) -> dict[str, torch.Tensor]:
    """The tensors written to ``model.safetensors``: the whole state dict, floats as float32.

    The attention buffers (``attn.mask``, empty until first use, and ``attn.IGNORE``) are kept
    so that a strict ``load_state_dict`` works too.
    """
    return {
        k: (v.detach().to(torch.float32) if v.is_floating_point() else v.detach()).contiguous()
        for k, v in model.state_dict().items()
    }
