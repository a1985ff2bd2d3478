"""An on-disk cache of captured hook activations, one verified safetensors shard per batch.

Keyed by everything that changes the activations (model, revision, dtype, hooks, dataset
fingerprint, context size, token count, batch size), so a second SAE on the same hook, a
second pass of an evaluator, or a rerun pays nothing for the model.

Every shard describes itself in its safetensors metadata: the cache key's digest, its batch
index, a digest of the batch's token ids and a SHA-256 of its tensors. A shard that fails
any check (copied from another batch or cache, altered, truncated, unreadable) is deleted
with one :class:`CacheWarning`, and ``load`` returns ``None`` so the caller recomputes it.
Shards are written to a temporary name and renamed, so a reader never sees half a shard.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.files import atomic_write_text

if TYPE_CHECKING:  # torch loads on first use: reading records must not import it
    import torch
    from torch import Tensor

FORMAT = "2"  # the shard layout; part of the key, so older caches are never read
KEY_FILE = "key.json"


class CacheWarning(SaebenchWarning):
    """A cache shard or key file was wrong and is being rebuilt (one line on the CLI)."""


class ActivationCache:
    """Activations of one token set's batches, one shard each, checked on every load.

    ``key_fields`` name everything that changes the activations (JSON-serialisable);
    ``names`` are the hook names every shard holds, each a tensor of leading shape
    ``[batch, pos]``.

    Example:
        >>> cache = ActivationCache(root, {"model": fingerprint}, ["blocks.0.hook_resid_post"])
        >>> acts = cache.load(index, tokens)  # None when missing or wrong: recompute
        >>> if acts is None:
        ...     acts = forward(tokens)
        ...     cache.save(index, tokens, acts)
    """

    def __init__(self, root: Path | str, key_fields: dict, names: Iterable[str]) -> None:
        self.names = sorted(names)
        self.key = {"format": FORMAT, "names": self.names, "fields": key_fields}
        self.digest = hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()
        self.dir = Path(root) / self.digest[:20]
        self._prepared = False

    def _shard(self, index: int) -> Path:
        return self.dir / f"batch_{index:06d}.safetensors"

    # -- reading --------------------------------------------------------------------------
    def load(
        self, index: int, tokens: Tensor, device: str | torch.device | None = None
    ) -> dict[str, Tensor] | None:
        """Batch ``index``'s activations, or ``None`` when the shard is missing or wrong.

        ``tokens`` are the batch's token ids; a wrong shard is deleted with one warning.
        The tensors go to ``device``, by default the device of ``tokens``.
        """
        path = self._shard(index)
        if not path.is_file():
            return None
        try:
            tensors, meta = _read_shard(path)
        except Exception as exc:  # whatever the damage, the answer is to recompute
            self._discard(path, f"cannot be read ({_first_line(exc)})")
            return None
        problem = self._problem(index, tokens, tensors, meta)
        if problem:
            self._discard(path, problem)
            return None
        target = tokens.device if device is None else device
        return {name: tensor.to(target) for name, tensor in tensors.items()}

    def _problem(self, index, tokens, tensors, meta) -> str | None:
        """What is wrong with a parsed shard, cheapest check first; None when it is sound."""
        header = self._header_problem(index, _tensor_digest(tokens), meta)
        if header:
            return header
        if sorted(tensors) != self.names:
            return f"holds tensors {sorted(tensors)}, not {self.names}"
        for name, tensor in tensors.items():
            if tuple(tensor.shape[:2]) != tuple(tokens.shape):
                return f"has {name} of shape {list(tensor.shape)}, not [{_dims(tokens)}, ...]"
        if meta["sha256"] != _checksum(tensors):
            return "does not match its checksum (its values were changed)"
        return None

    def _header_problem(self, index: int, token_digest: str, meta: dict | None) -> str | None:
        meta = meta or {}
        if meta.get("saebench_cache") != FORMAT or "sha256" not in meta:
            return "has no checksum (written by an older saebench or another tool)"
        if meta.get("key") != self.digest:
            return "belongs to another cache (another model, hook set or token set)"
        if meta.get("batch") != str(index):
            return f"holds batch {meta.get('batch')}, not batch {index}"
        if meta.get("tokens") != token_digest:
            return f"was computed from other token ids than batch {index}'s"
        return None

    def _discard(self, path: Path, problem: str) -> None:
        path.unlink(missing_ok=True)
        warnings.warn(
            f"activation cache: shard {path} {problem}; deleted, it will be recomputed",
            CacheWarning,
            stacklevel=3,
        )

    # -- writing --------------------------------------------------------------------------
    def save(self, index: int, tokens: Tensor, acts: dict[str, Tensor]) -> None:
        """Store batch ``index``'s activations, computed from ``tokens``.

        A shard already there with this batch's header is kept (``load`` checks its values);
        anything else there is replaced.
        """
        self._check_contract(tokens, acts)
        token_digest = _tensor_digest(tokens)
        path = self._shard(index)
        if self._header_problem(index, token_digest, _read_metadata(path)) is None:
            return
        self._prepare()
        acts = _unshared({name: t.detach().contiguous().cpu() for name, t in acts.items()})
        meta = {
            "saebench_cache": FORMAT,
            "key": self.digest,
            "batch": str(index),
            "tokens": token_digest,
            "sha256": _checksum(acts),
        }
        _write_shard(path, acts, meta)

    def _check_contract(self, tokens: Tensor, acts: dict[str, Tensor]) -> None:
        # A shard that breaks these would fail every load: refuse it at the source.
        if sorted(acts) != self.names:
            raise ValueError(f"activation names {sorted(acts)} are not the cache's {self.names}")
        for name, tensor in acts.items():
            if tuple(tensor.shape[:2]) != tuple(tokens.shape):
                raise ValueError(
                    f"{name} has shape {list(tensor.shape)}, not [{_dims(tokens)}, ...]"
                )

    def _prepare(self) -> None:
        """Create the folder and (re)write ``key.json``, once per cache object."""
        if self._prepared:
            return
        key_file = self.dir / KEY_FILE
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            _remove_orphans(self.dir)
            if _read_json(key_file) != self.key:
                if key_file.exists():  # only informative, but a sign something damaged the cache
                    warnings.warn(
                        f"activation cache: {key_file} is corrupt; rewritten",
                        CacheWarning,
                        stacklevel=3,
                    )
                atomic_write_text(key_file, json.dumps(self.key, indent=2, sort_keys=True))
        except OSError as exc:
            raise _unwritable(self.dir, exc) from exc
        self._prepared = True


# -- files -----------------------------------------------------------------------------------
def _unshared(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Copies where two names hold one tensor (``blocks.L.hook_resid_post`` is
    ``blocks.L+1.hook_resid_pre``): safetensors refuses to save shared memory."""
    seen: set[int] = set()
    out = {}
    for name, tensor in tensors.items():
        pointer = tensor.untyped_storage().data_ptr()
        out[name] = tensor.clone() if pointer in seen else tensor
        seen.add(pointer)
    return out


def _write_shard(path: Path, tensors: dict[str, Tensor], meta: dict[str, str]) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # cheap, and survives a removed folder
        # A unique temporary name: two writers of one shard never share a half-written file.
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
        )
        os.close(fd)
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, path)
    except (OSError, SafetensorError) as exc:  # safetensors reports a full disk its own way
        raise _unwritable(path, exc) from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _remove_orphans(folder: Path) -> None:
    """Remove temporary files of writers that were killed mid-write (each up to a shard)."""
    from saebench.activations.scratch import process_alive

    for tmp in folder.glob(".*.tmp"):
        # ".batch_000001.safetensors.<pid>.<random>.tmp" or ".key.json.<pid>.tmp"
        parts = tmp.name.split(".")
        if len(parts) > 4 and parts[3].isdigit() and not process_alive(int(parts[3])):
            tmp.unlink(missing_ok=True)


def _read_shard(path: Path) -> tuple[dict[str, Tensor], dict[str, str] | None]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device="cpu") as f:
        names = f.keys()  # the handle is not iterable
        return {name: f.get_tensor(name) for name in names}, f.metadata()


def _read_metadata(path: Path) -> dict[str, str] | None:
    """A shard's metadata without its tensors; None when missing or unreadable."""
    from safetensors import safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata()
    except Exception:  # missing or damaged: either way it is to be written
        return None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # missing, unreadable, not UTF-8 or not JSON
        return None


def _unwritable(path: Path, exc: Exception) -> SaebenchError:
    reason = getattr(exc, "strerror", None) or exc
    return SaebenchError(
        f"cannot write the activation cache at {path} ({reason}); free space or "
        "pass another cache_dir (TMPDIR moves the temporary one)"
    )


# -- digests ---------------------------------------------------------------------------------
def _update(digest, tensor: Tensor) -> None:
    """Feed dtype, shape and raw bytes (no float conversion: bit-exact, any dtype)."""
    import torch

    flat = tensor.detach().contiguous().cpu().reshape(-1)
    digest.update(f"{flat.dtype}{list(tensor.shape)}".encode())
    digest.update(flat.view(torch.uint8).numpy())


def _tensor_digest(tensor: Tensor) -> str:
    digest = hashlib.sha256()
    _update(digest, tensor)
    return digest.hexdigest()


def _checksum(tensors: dict[str, Tensor]) -> str:
    """SHA-256 over the tensors in name order (SHA-256 hashes faster here than BLAKE2b)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode() + b"\0")
        _update(digest, tensors[name])
    return digest.hexdigest()


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _dims(tokens: Tensor) -> str:
    return ", ".join(str(d) for d in tokens.shape)
