"""What makes two SAEs, two models or two configs "the same": the hashes that go into record
keys. A number may be reused only when everything that decides it is equal, so these hash
contents (weights, vocabularies), never names alone."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_hash(value: Any) -> str:
    """A short hash of a JSON-able value, independent of dict order."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def tensors_hash(named: dict) -> str:
    """A hash of every tensor's name, shape, dtype and bytes, in name order."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(named.items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        raw = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
        digest.update(raw.numpy().data)
    return digest.hexdigest()[:16]


def sae_weights_hash(sae) -> str:
    # a control (saebench.sae.controls) is identified by what it is made from, not its tensors
    control = getattr(sae, "control", None)
    return control.weights_hash if control is not None else tensors_hash(sae.named_tensors())


def model_weights_hash(model) -> str:
    """Every parameter and buffer of the model (a fine-tuned copy under the same name differs)."""
    return tensors_hash(model.state_dict())


def _without_call_state(backend):
    """A copy of a fast tokenizer with no padding or truncation set: a padded batch leaves
    them set on the tokenizer, and they say how it was last called, not what it is."""
    from tokenizers import Tokenizer

    clone = Tokenizer.from_str(backend.to_str())
    clone.no_padding()
    clone.no_truncation()
    return clone


def tokenizer_hash(tokenizer) -> str | None:
    """The vocabulary, merges and special tokens of a tokenizer; None when there is none."""
    if tokenizer is None:
        return None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        text = _without_call_state(backend).to_str()
    else:
        text = json.dumps(sorted(tokenizer.get_vocab().items()))
    specials = {
        name: getattr(tokenizer, name, None)
        for name in ("bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id")
    }
    return stable_hash([hashlib.sha256(text.encode()).hexdigest(), specials])
