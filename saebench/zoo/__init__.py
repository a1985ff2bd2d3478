"""The embedded default: a small language model, its tokenizer and data, shipped in the package.

Nothing heavy loads at import; each name below imports its module on first use.

Example:
    >>> from saebench import zoo
    >>> model = zoo.load_model()
    >>> cities = zoo.load_cities("test")
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "load_model": "saebench.zoo.model",
    "model_dir": "saebench.zoo.model",
    "load_tokenizer": "saebench.zoo.tokenizer",
    "City": "saebench.zoo.facts",
    "FactPrompt": "saebench.zoo.facts",
    "IoiPrompt": "saebench.zoo.facts",
    "RelationTemplate": "saebench.zoo.facts",
    "RELATIONS": "saebench.zoo.facts",
    "load_cities": "saebench.zoo.facts",
    "relation_templates": "saebench.zoo.facts",
    "fact_prompts": "saebench.zoo.facts",
    "ioi_prompts": "saebench.zoo.facts",
    "evaluate": "saebench.zoo.evaluate_model",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.zoo.evaluate_model import evaluate  # noqa: F401
    from saebench.zoo.facts import (  # noqa: F401
        RELATIONS,
        City,
        FactPrompt,
        IoiPrompt,
        RelationTemplate,
        fact_prompts,
        ioi_prompts,
        load_cities,
        relation_templates,
    )
    from saebench.zoo.model import load_model, model_dir  # noqa: F401
    from saebench.zoo.tokenizer import load_tokenizer  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'saebench.zoo' has no attribute {name!r}")
