"""What several evaluators use, in one place: intervals (block bootstrap over contexts,
bootstrap over units, Wilson), thread-count determinism, probes, sites (activations of a
task split at a span), reference dictionaries and the answer rules (which prompts a model
answers). Evaluators import from here, never from each other. Names load on first use; none
of them loads torch at import. Modules used by fewer evaluators are imported by path:
``captures`` (a task split's activations, shared by sparse_probing and sae_probes), ``spans``
(every token of a span, pooled), ``matching`` (decoder matching of panels), ``circuits``
(a model's reference circuit by head ablation) and ``block_quantiles`` (quantiles with a
block bootstrap).

Example:
    >>> from saebench.toolkit import ContextSums, bootstrap, wilson
"""

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

_EXPORTS = {
    "ContextSums": "saebench.toolkit.intervals",
    "bootstrap": "saebench.toolkit.intervals",
    "seed_spread": "saebench.toolkit.intervals",
    "wilson": "saebench.toolkit.intervals",
    "fixed_threads": "saebench.toolkit.determinism",
    "ProbeFit": "saebench.toolkit.probes",
    "fit_probe": "saebench.toolkit.probes",
    "l1_probe_weights": "saebench.toolkit.probes",
    "majority_rate": "saebench.toolkit.probes",
    "probe_threads": "saebench.toolkit.probes",
    "top_k_standardised": "saebench.toolkit.probes",
    **dict.fromkeys(
        ["LAST", "Position", "activations_at", "default_position", "distinct_activations"],
        "saebench.toolkit.sites",
    ),
    **dict.fromkeys(
        ["neuron_basis", "pca_basis", "random_dictionary"], "saebench.toolkit.references"
    ),
    **dict.fromkeys(["RULES", "Survivors", "filter_answered"], "saebench.toolkit.answers"),
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.toolkit.determinism import fixed_threads  # noqa: F401
    from saebench.toolkit.intervals import ContextSums, bootstrap, seed_spread, wilson  # noqa: F401
    from saebench.toolkit.probes import (  # noqa: F401
        ProbeFit,
        fit_probe,
        majority_rate,
        probe_threads,
        top_k_standardised,
    )

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
