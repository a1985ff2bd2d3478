"""Activation sources: where the shared pass reads activations from.

A source serves batches of contexts and, for each, the activations at named sites. The model
source streams token contexts through a TransformerLens model; the synthetic source (known
features) and the embedding source (a sentence-embedding model) are modules of their own
beside it. Each declares what it serves (:data:`ACTIVATIONS`, :data:`DOWNSTREAM`,
:data:`MODEL_RUNNER`), and the run checks every evaluator's needs against it before work
starts.

Example:
    >>> from saebench.sources import ModelSource
    >>> source = ModelSource(model, token_set)
    >>> sorted(source.serves)
    ['activations', 'downstream', 'model_runner', 'text']
"""

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

_EXPORTS = {
    "ACTIVATIONS": "saebench.sources.base",
    "DOWNSTREAM": "saebench.sources.base",
    "MODEL_RUNNER": "saebench.sources.base",
    "GROUND_TRUTH": "saebench.sources.base",
    "ActivationSource": "saebench.sources.base",
    "SourceBatch": "saebench.sources.base",
    "check_serves": "saebench.sources.base",
    "needed_services": "saebench.sources.base",
    "TEXT": "saebench.sources.base",
    "EMBEDDINGS": "saebench.sources.base",
    "EmbeddingSource": "saebench.sources.embedding",
    "ModelSource": "saebench.sources.model",
    "SyntheticSource": "saebench.sources.synthetic",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.sources.base import (  # noqa: F401
        ACTIVATIONS,
        DOWNSTREAM,
        EMBEDDINGS,
        GROUND_TRUTH,
        MODEL_RUNNER,
        TEXT,
        ActivationSource,
        SourceBatch,
        check_serves,
        needed_services,
    )
    from saebench.sources.embedding import EmbeddingSource  # noqa: F401
    from saebench.sources.model import ModelSource  # noqa: F401
    from saebench.sources.synthetic import SyntheticSource  # noqa: F401

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
