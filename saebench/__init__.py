"""saebench: evaluate sparse autoencoders and transcoders, the same way for every format.

Example:
    >>> import saebench
    >>> sae = saebench.load_sae("zoo:resid-topk-16")
    >>> records = saebench.evaluate(sae, model="zoo", dataset="zoo", n_tokens=20_000)
    >>> saebench.records_frame(records)

Heavy modules (torch, TransformerLens) load on first use, so ``import saebench`` is cheap.
"""

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports
from saebench.version import __version__

_EXPORTS = {
    "load_sae": "saebench.adapters.resolve",
    "register_adapter": "saebench.adapters.base",
    "Adapter": "saebench.adapters.base",
    "evaluate": "saebench.run.executors",
    "run_local": "saebench.run.executors",
    "plan": "saebench.run.planning",
    "GroupSpec": "saebench.run.planning",
    "run_group": "saebench.run.group",
    "register_evaluator": "saebench.evaluators.base",
    "register_task": "saebench.tasks.base",
    "Evaluator": "saebench.evaluators.base",
    "Sae": "saebench.sae.base",
    "SaeMetadata": "saebench.sae.metadata",
    "SaebenchError": "saebench.errors",
    "load_model": "saebench.models.load",
    "save_model": "saebench.models.folder",
    "EvalRecord": "saebench.records",
    "load_records": "saebench.records",
    "records_frame": "saebench.results.leaderboard",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from saebench.adapters.base import Adapter, register_adapter  # noqa: F401
    from saebench.adapters.resolve import load_sae  # noqa: F401
    from saebench.errors import SaebenchError  # noqa: F401
    from saebench.evaluators.base import Evaluator, register_evaluator  # noqa: F401
    from saebench.models.folder import save_model  # noqa: F401
    from saebench.models.load import load_model  # noqa: F401
    from saebench.records import EvalRecord, load_records  # noqa: F401
    from saebench.results.leaderboard import records_frame  # noqa: F401
    from saebench.run.executors import evaluate, run_local  # noqa: F401
    from saebench.run.group import run_group  # noqa: F401
    from saebench.run.planning import GroupSpec, plan  # noqa: F401
    from saebench.sae.base import Sae  # noqa: F401
    from saebench.sae.metadata import SaeMetadata  # noqa: F401
    from saebench.tasks.base import register_task  # noqa: F401

__getattr__, _exports_dir = lazy_exports(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return [*_exports_dir(), "__version__"]
