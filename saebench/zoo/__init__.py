"""The embedded default: a small language model, its tokenizer and data, shipped in the package.

Nothing heavy loads at import; each name below imports its module on first use.

Example:
    >>> from saebench import zoo
    >>> model = zoo.load_model()
    >>> cities = zoo.load_cities("test")
"""

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

_EXPORTS = {
    "load_model": "saebench.zoo.model",
    "model_dir": "saebench.zoo.model",
    "load_tokenizer": "saebench.zoo.tokenizer",
    "City": "saebench.tasks.zoo_facts",
    "FactPrompt": "saebench.tasks.zoo_facts",
    "IoiPrompt": "saebench.tasks.zoo_ioi",
    "RelationTemplate": "saebench.tasks.zoo_facts",
    "RELATIONS": "saebench.tasks.zoo_facts",
    "load_cities": "saebench.tasks.zoo_facts",
    "relation_templates": "saebench.tasks.zoo_facts",
    "fact_prompts": "saebench.tasks.zoo_facts",
    "ioi_prompts": "saebench.tasks.zoo_ioi",
    "evaluate": "saebench.zoo.evaluate_model",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.tasks.zoo_facts import (  # noqa: F401
        RELATIONS,
        City,
        FactPrompt,
        RelationTemplate,
        fact_prompts,
        load_cities,
        relation_templates,
    )
    from saebench.tasks.zoo_ioi import IoiPrompt, ioi_prompts  # noqa: F401
    from saebench.zoo.evaluate_model import evaluate  # noqa: F401
    from saebench.zoo.model import load_model, model_dir  # noqa: F401
    from saebench.zoo.tokenizer import load_tokenizer  # noqa: F401

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
