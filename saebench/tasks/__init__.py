"""Labelled prompt tasks as typed, versioned data (registry group ``saebench.tasks``).

Nothing heavy loads at import; each name below imports its module on first use.

Example:
    >>> from saebench.tasks import build_task
    >>> task = build_task("zoo-cities")
    >>> task.prompts("test")[0].spans
"""

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

_EXPORTS = {
    "Task": "saebench.tasks.base",
    "TaskConfig": "saebench.tasks.base",
    "TaskPrompt": "saebench.tasks.base",
    "TaskSpec": "saebench.tasks.base",
    "PromptPair": "saebench.tasks.base",
    "build_task": "saebench.tasks.base",
    "register_task": "saebench.tasks.base",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.tasks.base import (  # noqa: F401
        PromptPair,
        Task,
        TaskConfig,
        TaskPrompt,
        TaskSpec,
        build_task,
        register_task,
    )

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
