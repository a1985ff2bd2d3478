"""A model saved as a folder: ``config.json`` (HookedTransformerConfig fields),
``model.safetensors`` and the Hugging Face tokenizer files (the zoo's layout, and where the
SmolLM2 conversion is cached). Apart from :mod:`saebench.models.load` so that the SmolLM2
conversion can save a folder without importing the loader that loads it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch


def load_local(path: Path, device: str = "cpu", dtype: torch.dtype | None = None):
    """A model saved as ``config.json`` (HookedTransformerConfig fields), ``model.safetensors``
    and Hugging Face tokenizer files, all in one folder (the zoo's layout)."""
    from safetensors.torch import load_file
    from transformer_lens import HookedTransformer, HookedTransformerConfig
    from transformers import PreTrainedTokenizerFast

    config_file, weights = path / "config.json", path / "model.safetensors"
    for needed in (config_file, weights):
        if not needed.is_file():
            raise SaebenchError(
                f"{needed}: missing; a local model folder needs config.json and "
                "model.safetensors (write one with saebench.save_model)"
            )
    fields = json.loads(config_file.read_text())
    fields.pop("model_name_saebench", None)
    cfg = HookedTransformerConfig(**{k: v for k, v in fields.items() if k != "revision"})
    # without tokenizer files the model takes token ids only
    has_tokenizer = (path / "tokenizer.json").is_file()
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(path)) if has_tokenizer else None
    model = HookedTransformer(cfg, tokenizer=tokenizer, move_to_device=False)
    model.load_state_dict(load_file(str(weights)), strict=True)
    model = model.to(device, print_details=False)
    # a folder's revision is whatever its config.json says (the zoo's names its bundle)
    model.cfg.revision = fields.get("revision")
    return (model.to(dtype, print_details=False) if dtype else model).eval()


def save_model(model, path: Path | str) -> Path:
    """Save a HookedTransformer in the folder layout :func:`load_local` reads, so a custom
    model can be named by its folder (``saebench eval SAE --model FOLDER``).

    The folder holds ``config.json`` (the HookedTransformerConfig fields),
    ``model.safetensors`` and, when the model has one, the Hugging Face tokenizer files. A
    model saved without a tokenizer takes token ids only.

    Example:
        >>> save_model(model, "my_model/")
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    fields = {
        key: value
        for key, value in model.cfg.to_dict().items()
        if isinstance(value, (int, float, str, bool, type(None), list))
    }
    (path / "config.json").write_text(json.dumps(fields, indent=2, default=str))
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path / "model.safetensors"))
    if getattr(model, "tokenizer", None) is not None:
        model.tokenizer.save_pretrained(str(path))
    return path
