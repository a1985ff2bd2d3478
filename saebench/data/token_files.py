"""Token ids as 2-D arrays: ``.pt``, ``.npy`` and ``.safetensors`` files, and tensors or
arrays in memory. Shape and dtype are checked when the source is resolved (from the file's
header where the format has one); rows are read in blocks, so only the rows used are ever
materialised (``.npy`` and ``.pt`` are memory-mapped, ``.safetensors`` is sliced).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from saebench.errors import SaebenchError

TOKEN_SUFFIXES = (".pt", ".npy", ".safetensors")
TENSOR_NAMES = ("input_ids", "tokens")  # the one to take from a file holding several tensors
ROWS_PER_BLOCK = 4096
_SAFETENSORS_INTEGERS = {"I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64"}


def scan(path: Path) -> tuple[int, int]:
    """Refuse a token file whose content is not one 2-D integer array; return its shape
    ``(rows, row length)``."""
    with _opened(path) as array:
        check_ids(array, str(path))
        rows, width = shape_of(array)
        return rows, width


def blocks(path: Path) -> Iterator[Any]:
    """The rows of a scanned token file, ``ROWS_PER_BLOCK`` at a time."""
    with _opened(path) as array:
        yield from row_blocks(array)


def row_blocks(array: Any) -> Iterator[Any]:
    for start in range(0, shape_of(array)[0], ROWS_PER_BLOCK):
        yield array[start : start + ROWS_PER_BLOCK]


def is_array(value: Any) -> bool:
    """A torch tensor or numpy array (without importing either just to ask)."""
    torch, numpy = sys.modules.get("torch"), sys.modules.get("numpy")
    return (torch is not None and isinstance(value, torch.Tensor)) or (
        numpy is not None and isinstance(value, numpy.ndarray)
    )


def check_ids(array: Any, where: str) -> None:
    """Token ids must be a non-empty ``[n_contexts, context_size]`` integer array."""
    shape, dtype, integer = shape_of(array), _dtype_name(array), _is_integer(array)
    if len(shape) != 2:
        hint = (
            " (reshape a flat stream of ids with .view(-1, context_size))"
            if len(shape) == 1
            else ""
        )
        raise SaebenchError(
            f"{where}: token ids must be 2-D [n_contexts, context_size], got shape "
            f"{list(shape)}{hint}"
        )
    if not integer:
        raise SaebenchError(
            f"{where}: token ids must be integers, got dtype {dtype}; cast them with .long()"
        )
    if 0 in shape:
        raise SaebenchError(f"{where}: the token ids are empty (shape {list(shape)})")


def shape_of(array: Any) -> tuple[int, ...]:
    if hasattr(array, "get_shape"):  # a safetensors slice
        return tuple(array.get_shape())
    return tuple(array.shape)


def _dtype_name(array: Any) -> str:
    return array.get_dtype() if hasattr(array, "get_dtype") else str(array.dtype)


def _is_integer(array: Any) -> bool:
    if hasattr(array, "get_dtype"):
        return array.get_dtype() in _SAFETENSORS_INTEGERS
    if hasattr(array, "is_floating_point"):
        import torch

        return not (array.is_floating_point() or array.is_complex() or array.dtype == torch.bool)
    import numpy as np

    return np.issubdtype(array.dtype, np.integer)


@contextmanager
def _opened(path: Path) -> Iterator[Any]:
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors import safe_open

        try:
            handle = safe_open(str(path), framework="pt")
        except Exception as exc:  # a header safetensors cannot parse
            raise _unreadable(path, exc, "safetensors.torch.save_file") from exc
        with handle:
            yield _pick(path, dict.fromkeys(handle.keys()), handle.get_slice)
    elif suffix == ".pt":
        yield _load_pt(path)
    else:
        yield _load_npy(path)


def _load_pt(path: Path) -> Any:
    import torch

    try:
        try:  # memory-mapped, so unused rows are never read
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # the pre-1.6 format, which cannot be memory-mapped
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise _unreadable(path, exc, "torch.save(tensor, path)") from exc
    if isinstance(loaded, torch.Tensor):
        return loaded
    if isinstance(loaded, dict) and all(isinstance(v, torch.Tensor) for v in loaded.values()):
        return _pick(path, loaded, loaded.__getitem__)
    raise SaebenchError(
        f"{path}: holds a {type(loaded).__name__}, expected a tensor of token ids (or a dict "
        "with one tensor); save it with torch.save(tensor, path)"
    )


def _load_npy(path: Path) -> Any:
    import numpy as np

    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # object arrays, a truncated header, not an .npy at all
        raise _unreadable(path, exc, "numpy.save(path, ids)") from exc


def _pick(path: Path, tensors: dict[str, Any], get: Any) -> Any:
    """The only tensor, or the one named ``input_ids`` or ``tokens``."""
    names = list(tensors)
    if len(names) == 1:
        return get(names[0])
    for name in TENSOR_NAMES:
        if name in tensors:
            return get(name)
    listed = ", ".join(repr(n) for n in names) or "none"
    raise SaebenchError(
        f"{path}: holds tensors {listed}; save one tensor of token ids, or name it "
        "'input_ids' or 'tokens'"
    )


def _unreadable(path: Path, exc: Exception, fix: str) -> SaebenchError:
    reason = (str(exc).strip().splitlines() or [""])[0][:160]
    return SaebenchError(
        f"{path}: cannot be read as token ids ({type(exc).__name__}: {reason}); "
        f"save them with {fix}"
    )
