"""Block-bootstrap quantiles against an explicit resampling of whole contexts."""

from __future__ import annotations

import numpy as np
import pytest

from saebench.toolkit.block_quantiles import block_quantiles
from saebench.toolkit.intervals import LEVEL, N_RESAMPLES


def brute_force(values, contexts, q, seed):
    """Draw contexts as block_quantiles does, rebuild each resample's tokens, take the
    inverted-CDF quantile of each, then the percentile interval."""
    ids = np.unique(contexts)
    n = len(ids)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=N_RESAMPLES)
    samples = []
    for drawn in counts:
        tokens = np.concatenate(
            [np.repeat(values[contexts == c], k) for c, k in zip(ids, drawn, strict=True)]
        )
        samples.append(np.quantile(tokens, q, method="inverted_cdf"))
    tail = (1 - LEVEL) / 2 * 100
    return np.percentile(samples, [tail, 100 - tail])


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_matches_explicit_resampling(q):
    rng = np.random.default_rng(0)
    contexts = np.repeat(np.arange(12), 5)
    values = rng.exponential(size=60) + contexts * 0.1  # contexts differ: blocks matter
    estimates, intervals = block_quantiles(values, contexts, [q], seed=3, bins=4096)
    assert estimates[q] == np.quantile(values, q, method="inverted_cdf")
    low, high = brute_force(values, contexts, q, seed=3)
    assert intervals[q].low == pytest.approx(low)
    assert intervals[q].high == pytest.approx(high)
    assert intervals[q].n == 12 and intervals[q].unit == "contexts"


def test_nan_dropped_and_single_context_has_no_interval():
    estimates, intervals = block_quantiles(np.array([np.nan, 1.0, 2.0, 3.0]), np.zeros(4), [0.5])
    assert estimates[0.5] == 2.0
    assert intervals[0.5].low is None and intervals[0.5].n == 1
    estimates, intervals = block_quantiles(np.array([np.nan]), np.zeros(1), [0.5])
    assert estimates[0.5] is None
