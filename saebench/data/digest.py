"""Content fingerprints: the first 16 hex digits of a SHA-256 over file bytes, texts, token
rows or a spec's fields.

Texts and rows are hashed length-prefixed, so no choice of separator can make two different
datasets collide, and rows are hashed as little-endian int64 whatever their container, so the
same ids as a tensor, an array or a list of lists share one fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_DIGITS = 16


def file_digest(path: Path) -> str:
    """Fingerprint of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:_DIGITS]


def texts_digest(texts: Iterable[str]) -> str:
    digest = hashlib.sha256(b"texts\n")
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:_DIGITS]


def rows_digest(blocks: Iterable[Any]) -> str:
    """Fingerprint of token rows given as blocks (2-D tensors, arrays or lists of id lists)."""
    import numpy as np

    digest = hashlib.sha256(b"token rows\n")
    for block in blocks:
        if isinstance(block, list):
            for row in block:
                ids = np.asarray(row, dtype="<i8")
                digest.update(len(ids).to_bytes(8, "little"))
                digest.update(ids.tobytes())
            continue
        ids = _int64_array(block)
        lengths = np.full((ids.shape[0], 1), ids.shape[1], dtype="<i8")
        digest.update(np.concatenate([lengths, ids], axis=1).tobytes())
    return digest.hexdigest()[:_DIGITS]


def spec_digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:_DIGITS]


def _int64_array(block: Any):
    import numpy as np

    if hasattr(block, "detach"):  # a torch tensor; numpy cannot read it directly
        block = block.detach().cpu().numpy()
    return np.asarray(block, dtype="<i8")
