"""Reading the zoo's data files (``saebench/zoo/data/*.json``), cached.

The files are written at build time by :func:`saebench.zoo.facts.build_data`, which calls
:func:`clear_caches` afterwards so the loaders see the new files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

DATA_DIR = Path(__file__).resolve().parents[1] / "zoo" / "data"
SPLITS: tuple[str, ...] = ("train", "val", "test")

F = TypeVar("F", bound=Callable[..., Any])
_CACHED: list[Any] = []


def data_cache(fn: F) -> F:
    """``functools.cache`` for a function of the data files, cleared by :func:`clear_caches`."""
    cached = cache(fn)
    _CACHED.append(cached)
    return cached  # type: ignore[return-value]


def clear_caches() -> None:
    """Forget everything read from the data files (after they were rewritten)."""
    for cached in _CACHED:
        cached.cache_clear()


@data_cache
def read(name: str) -> dict:
    """The parsed JSON file ``name`` of the zoo's data folder."""
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; rebuild the zoo data with `python -m saebench.zoo.build.zoo_model`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} or None")
