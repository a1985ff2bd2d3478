"""The evaluator protocol, for plug-ins, and the built-in evaluators (one module each).

A plug-in imports what it needs from here::

    from saebench.evaluators import (
        EvalConfig, EvalContext, EvalMetrics, EvalResult, Evaluator, Needs, SaeBatch, metric,
    )

Names are imported on first use; none of them loads torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

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
        "Interval",
        "Needs",
        "PanelEvaluator",
        "PromptEvaluator",
        "Reference",
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
        Interval,
        Needs,
        PanelEvaluator,
        PromptEvaluator,
        Reference,
        SaeBatch,
        TaskRequest,
        get_evaluator,
        metric,
        register_evaluator,
    )

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
