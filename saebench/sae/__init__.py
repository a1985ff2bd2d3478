"""The SAE protocol and one encoder class per architecture.

Names are imported on first use: :class:`SaeMetadata` is plain pydantic, so reading an
SAE's metadata (or listing adapters) loads no torch; :class:`Sae` and :func:`build_sae` do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Sae": "saebench.sae.base",
    "ENCODERS": "saebench.sae.build",
    "build_sae": "saebench.sae.build",
    "SaeMetadata": "saebench.sae.metadata",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.sae.base import Sae  # noqa: F401
    from saebench.sae.build import ENCODERS, build_sae  # noqa: F401
    from saebench.sae.metadata import SaeMetadata  # noqa: F401


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'saebench.sae' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
