"""Checkpoint-format adapters and the URI resolver.

Names are imported on first use, so importing this package (or listing adapters) loads no
torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
