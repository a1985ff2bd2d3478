"""An on-disk cache of captured hook activations, one safetensors shard per batch.

Keyed by everything that changes the activations (model, revision, dtype, hooks, dataset
fingerprint, context size, token count, batch size), so a second SAE on the same hook, a
second pass of an evaluator, or a rerun pays nothing for the model. Shards are written
to a temporary name and renamed, so an interrupted run leaves no half-written shard.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from torch import Tensor


class ActivationCache:
    def __init__(self, root: Path | str, key_fields: dict) -> None:
        digest = hashlib.sha256(json.dumps(key_fields, sort_keys=True).encode()).hexdigest()
        self.dir = Path(root) / digest[:20]
        self.key_fields = key_fields

    def _shard(self, index: int) -> Path:
        return self.dir / f"batch_{index:06d}.safetensors"

    def has(self, index: int) -> bool:
        return self._shard(index).is_file()

    def load(self, index: int, device: str = "cpu") -> dict[str, Tensor]:
        from safetensors.torch import load_file

        return load_file(str(self._shard(index)), device=device)

    def save(self, index: int, acts: dict[str, Tensor]) -> None:
        from safetensors.torch import save_file

        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "key.json"
        if not meta.exists():
            atomic_write_text(meta, json.dumps(self.key_fields, indent=2, sort_keys=True))
        tmp = self._shard(index).with_suffix(".tmp")
        save_file({k: v.detach().contiguous().cpu() for k, v in acts.items()}, str(tmp))
        os.replace(tmp, self._shard(index))


def atomic_write_text(path: Path, text: str) -> None:
    """Write-to-temp-then-rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
