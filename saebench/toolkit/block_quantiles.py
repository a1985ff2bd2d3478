"""Quantiles of per-token values with a block-bootstrap interval over contexts.

Tokens of one context are not independent, so the interval resamples whole contexts (as
:class:`saebench.toolkit.intervals.ContextSums` does for sums): each resample draws the
contexts with replacement and takes the quantile of the tokens of the drawn contexts, each
token weighted by how often its context was drawn. Quantiles use the inverted-CDF
definition (the smallest value whose cumulative share reaches ``q``). The estimate is exact;
the resamples read the values through ``bins`` bins of equal share of the pooled tokens
(each bin standing for its largest value), so an interval end is resolved to ``1 / bins``
of the distribution and costs one sparse product instead of a sort per resample. NaN values
are dropped first.

Example:
    >>> values = np.array([1.0, 2.0, 3.0, 4.0]); contexts = np.array([0, 0, 1, 1])
    >>> estimates, intervals = block_quantiles(values, contexts, [0.5])
    >>> estimates[0.5]
    2.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from saebench.records import Interval
from saebench.toolkit.intervals import LEVEL, N_RESAMPLES, _percentiles


def _unknown(n: int, level: float) -> Interval:
    return Interval(
        low=None, high=None, level=level, method="block_bootstrap", unit="contexts", n=n
    )


def _binned(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Each value's bin (equal shares of the pooled values) and each bin's largest value."""
    edges = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1], method="inverted_cdf")
    which = np.searchsorted(edges, values, side="left")
    top = np.full(bins, -np.inf)
    np.maximum.at(top, which, values)
    return which, np.maximum.accumulate(top)  # an empty bin stands for the one below it


def block_quantiles(
    values: np.ndarray,
    contexts: np.ndarray,
    qs: Sequence[float],
    *,
    seed: int = 0,
    bins: int = 4096,
    n_resamples: int = N_RESAMPLES,
    level: float = LEVEL,
) -> tuple[dict[float, float | None], dict[float, Interval]]:
    """The ``qs`` quantiles of ``values`` and their block-bootstrap intervals by context."""
    from scipy.sparse import csr_matrix

    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    values, contexts = values[keep], np.asarray(contexts)[keep]
    if values.size == 0:
        return {q: None for q in qs}, {q: _unknown(0, level) for q in qs}
    estimates = {q: float(np.quantile(values, q, method="inverted_cdf")) for q in qs}
    ids, dense = np.unique(contexts, return_inverse=True)
    n = len(ids)
    if n < 2:
        return estimates, {q: _unknown(n, level) for q in qs}
    which, top = _binned(values, bins)
    per_context = csr_matrix((np.ones(values.size), (dense, which)), shape=(n, bins))
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(np.float64)
    cumulative = np.cumsum(per_context.T @ counts.T, axis=0)  # [bins, resamples]
    samples = np.empty((n_resamples, len(qs)))
    for j, q in enumerate(qs):
        first = (cumulative < q * cumulative[-1:]).sum(axis=0)
        samples[:, j] = top[np.minimum(first, bins - 1)]
    intervals = {}
    for j, q in enumerate(qs):
        low, high = _percentiles(samples[:, j], level)
        intervals[q] = Interval(
            low=low, high=high, level=level, method="block_bootstrap", unit="contexts", n=n
        )
    return estimates, intervals
