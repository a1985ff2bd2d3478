"""SAEBench's ``scr`` (spurious correlation removal) and ``tpp`` (targeted probe
perturbation), as ``sae_bench/evals/scr_and_tpp`` 0.6.0 defines them, on data that installs
offline (the sae-probes datasets paired into two-attribute rows, task ``sae-probes-pairs``;
the zoo's cities on the toy model).

Both train SAEBench's linear probes on mean-pooled raw activations, rank SAE latents by
probe attribution, zero-ablate the top N (the SAE's error term kept) and re-score the
probes; SCR reports the normalised recovery of a biased probe, TPP the targeted minus
untargeted accuracy drop, at SAEBench's N grid. An audit of SAEBench (Chanin 2026) found
both fail its validity checks at their canonical settings: every record carries that
warning in ``details["warning"]``. Modules: :mod:`.config` and :mod:`.evaluator` load no
torch; :mod:`.data` (rows), :mod:`.probe` (SAEBench's probe), :mod:`.prepare` (shared
preparation), :mod:`.run` (attribution and ablation), :mod:`.scores` (the formulas),
:mod:`.result` (intervals, nulls, record). ``docs/evaluators/scr.md`` and ``tpp.md``.

Example:
    >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo", evaluators=["scr"],
    ...                             configs={"scr": {"task": "zoo-cities"}})
    >>> records[0].metrics["scr_metric_threshold_20"], records[0].details["warning"]
"""

from saebench.evaluators.scr_tpp.config import (
    AUDIT_WARNING,
    N_CHOICES,
    ClassSet,
    Pair,
    ScrConfig,
    ScrMetrics,
    TppConfig,
    TppMetrics,
)
from saebench.evaluators.scr_tpp.evaluator import ScrEvaluator, TppEvaluator

__all__ = [
    "AUDIT_WARNING",
    "N_CHOICES",
    "ClassSet",
    "Pair",
    "ScrConfig",
    "ScrEvaluator",
    "ScrMetrics",
    "TppConfig",
    "TppEvaluator",
    "TppMetrics",
]
