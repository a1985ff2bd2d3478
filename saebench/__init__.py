"""saebench: evaluate sparse autoencoders and transcoders, the same way for every format.

Example:
    >>> import saebench
    >>> sae = saebench.load_sae("zoo:resid-topk-16")
    >>> records = saebench.evaluate(sae, model="zoo", dataset="zoo", n_tokens=20_000)

Heavy modules (torch, TransformerLens) load on first use, so ``import saebench`` is cheap.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_sae": "saebench.adapters.resolve",
    "register_adapter": "saebench.adapters.base",
    "Adapter": "saebench.adapters.base",
    "evaluate": "saebench.runner",
    "register_evaluator": "saebench.evaluators.base",
    "Evaluator": "saebench.evaluators.base",
    "Sae": "saebench.sae.base",
    "SaeMetadata": "saebench.sae.metadata",
    "SaebenchError": "saebench.errors",
    "load_model": "saebench.models.load",
    "load_records": "saebench.records",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from saebench.adapters.base import Adapter, register_adapter  # noqa: F401
    from saebench.adapters.resolve import load_sae  # noqa: F401
    from saebench.errors import SaebenchError  # noqa: F401
    from saebench.evaluators.base import Evaluator, register_evaluator  # noqa: F401
    from saebench.models.load import load_model  # noqa: F401
    from saebench.records import load_records  # noqa: F401
    from saebench.runner import evaluate  # noqa: F401
    from saebench.sae.base import Sae  # noqa: F401
    from saebench.sae.metadata import SaeMetadata  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'saebench' has no attribute {name!r}")
