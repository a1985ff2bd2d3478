"""The evaluator protocol, for plug-ins, and the built-in evaluators (one module each).

A plug-in imports what it needs from here::

    from saebench.evaluators import (
        EvalConfig, EvalContext, EvalMetrics, EvalResult, Evaluator, Needs, SaeBatch, metric,
    )

Names are imported on first use; none of them loads torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_PROTOCOL = "saebench.evaluators.base"
_EXPORTS = {
    name: _PROTOCOL
    for name in (
        "Downstream",
        "EvalConfig",
        "EvalContext",
        "EvalMetrics",
        "EvalResult",
        "Evaluator",
        "Needs",
        "SaeBatch",
        "TaskRequest",
        "get_evaluator",
        "metric",
        "register_evaluator",
    )
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.evaluators.base import (  # noqa: F401
        Downstream,
        EvalConfig,
        EvalContext,
        EvalMetrics,
        EvalResult,
        Evaluator,
        Needs,
        SaeBatch,
        TaskRequest,
        get_evaluator,
        metric,
        register_evaluator,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'saebench.evaluators' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
