"""``compare``: how much several SAEs of one site agree (seeds, widths, architectures).

For every pair of SAEs at a site (a panel: one record for the set), from the weights:
decoder mean max cosine both ways (MMCS), the Hungarian-matched mean cosine of decoders
(PW-MCC, the main metric) and of encoders, the fractions of matched decoder pairs above
0.5 / 0.7 / 0.9, Paulo & Belrose's shared latents (matched decoder and encoder cosines both
above 0.7) and how often the decoder and encoder matchings agree; from the codes on the
shared pass's first ``n_activation_samples`` rows (Li et al. 2015): semi-matching and
Hungarian matching of activation correlations. Record metrics are means over pairs;
``details`` has each pair, the sd over pairs and member x member matrices; ``nulls`` and
``random_baseline_*`` the same metrics for two untrained SAEs of the same shapes.
Matching is exact up to ``max_exact_latents`` per side, approximate beyond
(:func:`saebench.toolkit.matching.assign_approx`). ``docs/evaluators/compare.md``.

Example:
    >>> records = saebench.evaluate(["zoo:resid-topk-16", "zoo:resid-topk-32"], model="zoo",
    ...                             evaluators=["compare"])
    >>> records[-1].details["matrices"]["hungarian_dec_mean_cos"]
"""

from saebench.evaluators.compare.config import CompareConfig, CompareMetrics
from saebench.evaluators.compare.evaluator import CompareEvaluator

__all__ = ["CompareConfig", "CompareEvaluator", "CompareMetrics"]
