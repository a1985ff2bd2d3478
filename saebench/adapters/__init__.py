"""Checkpoint-format adapters and the URI resolver.

Names are imported on first use, so importing this package (or listing adapters) loads no
torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Adapter": "saebench.adapters.base",
    "register_adapter": "saebench.adapters.base",
    "load_sae": "saebench.adapters.resolve",
    "read_uri": "saebench.adapters.resolve",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.adapters.base import Adapter, register_adapter  # noqa: F401
    from saebench.adapters.resolve import load_sae, read_uri  # noqa: F401


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'saebench.adapters' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
