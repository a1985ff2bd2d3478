"""Datasets for evaluation: :func:`data_source` turns what a user passes into a
:class:`DataSource`; :func:`make_token_set` cuts it into fixed-length contexts.

Names are imported on first use, so importing this package loads no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DataSource": "saebench.data.datasource",
    "data_source": "saebench.data.sources",
    "open_source": "saebench.data.sources",
    "hub_spec": "saebench.data.hub",
    "TokenSet": "saebench.data.contexts",
    "make_token_set": "saebench.data.contexts",
    "bos_check": "saebench.data.contexts",
    "special_ids": "saebench.data.special",
    "resolve_separator": "saebench.data.special",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'saebench.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
