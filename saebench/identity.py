"""What makes two SAEs, two models or two configs "the same": the hashes that go into record
keys. A number may be reused only when everything that decides it is equal, so these hash
contents (weights, vocabularies), never names alone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from saebench.errors import SaebenchError


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


def tokenizer_hash(tokenizer) -> str | None:
    """The vocabulary, merges and special tokens of a tokenizer; None when there is none."""
    if tokenizer is None:
        return None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        text = backend.to_str()
    else:
        text = json.dumps(sorted(tokenizer.get_vocab().items()))
    specials = {
        name: getattr(tokenizer, name, None)
        for name in ("bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id")
    }
    return stable_hash([hashlib.sha256(text.encode()).hexdigest(), specials])


def canonical_uri(uri: str) -> str:
    """``scheme:location`` with a local location made absolute and resolved, so that
    ``./sae``, ``sae/`` and ``x/../sae`` are one SAE, and two copies in two folders are two.

    Example:
        >>> canonical_uri("zoo:resid-topk-16")
        'zoo:resid-topk-16'
    """
    from saebench.adapters.resolve import read_uri
    from saebench.registry import adapters

    scheme, location = read_uri(uri)
    # an adapter whose location holds another URI (control:) makes that one canonical itself
    canonical = getattr(adapters.get(scheme), "canonical_location", None)
    if canonical is not None:
        return f"{scheme}:{canonical(location)}"
    path = Path(location).expanduser()
    if path.exists():
        location = str(path.resolve())
    return f"{scheme}:{location}"


def short_name(uri: str) -> str:
    """The label of an SAE in tables: the zoo name, the SAE id of a hub release, or the name
    of its folder."""
    scheme, _, location = uri.partition(":")
    if not location:
        return uri
    if scheme == "zoo":
        return location
    if scheme == "control":
        from saebench.adapters.control import base_of, control_name

        return control_name(location, short_name(base_of(uri)))
    name = Path(location.rstrip("/")).name
    if not name or name in (".", ".."):
        raise SaebenchError(f"{uri}: cannot tell the SAE's name from this location")
    return name


def distinct_names(uris: list[str]) -> list[str]:
    """:func:`short_name` of each URI, with parent folders added to the names that would
    otherwise collide, until each is unique (``a/out``, ``b/out`` rather than ``out`` twice).

    Example:
        >>> distinct_names(["saelens:/runs/a/out", "saelens:/runs/b/out", "zoo:resid-relu"])
        ['a/out', 'b/out', 'resid-relu']
    """
    names = [short_name(uri) for uri in uris]
    depth = 1
    while (clashing := _clashing(names)) and depth < 64:
        depth += 1
        for i in clashing:
            names[i] = _parents_name(uris[i], depth) or names[i]
    for i in _clashing(names):  # the same location under two schemes, or no parents left
        names[i] = f"{names[i]} ({uris[i].partition(':')[0]})"
    return names


def _clashing(names: list[str]) -> list[int]:
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [i for i, name in enumerate(names) if seen[name] > 1]


def _parents_name(uri: str, depth: int) -> str | None:
    """The last ``depth`` parts of a path-like location (None for zoo and control URIs)."""
    scheme, _, location = uri.partition(":")
    if scheme in ("zoo", "control") or not location:
        return None
    parts = [p for p in Path(location).parts if p not in ("/", "")]
    return "/".join(parts[-depth:])
