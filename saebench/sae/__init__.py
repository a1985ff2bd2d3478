"""The SAE protocol and one encoder class per architecture.

Each encoder class declares its architecture once, in its own module (labels, tensors,
shapes, construction) and registers with :func:`register_encoder`; see ``docs/adapters.md``.

Names are imported on first use: :class:`SaeMetadata` is plain pydantic, so reading an
SAE's metadata (or listing adapters) loads no torch; :class:`Sae` and :func:`build_sae` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

_EXPORTS = {
    "Sae": "saebench.sae.base",
    "TensorSpec": "saebench.sae.base",
    "ENCODERS": "saebench.sae.build",
    "build_sae": "saebench.sae.build",
    "register_encoder": "saebench.sae.registry",
    "SaeMetadata": "saebench.sae.metadata",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.sae.base import Sae, TensorSpec  # noqa: F401
    from saebench.sae.build import ENCODERS, build_sae  # noqa: F401
    from saebench.sae.metadata import SaeMetadata  # noqa: F401
    from saebench.sae.registry import register_encoder  # noqa: F401

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
