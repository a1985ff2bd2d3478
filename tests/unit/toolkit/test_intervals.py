import math

import numpy as np
import pytest

from saebench.toolkit.intervals import ContextSums, bootstrap, seed_spread, wilson


def test_wilson_matches_the_hand_worked_interval():
    # 8 of 10 at 95%: centre (0.8 + 1.92/10) / 1.384, half-width 1.96 * sqrt(.016 + .00096) / 1.384
    z = 1.959963984540054
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z * math.sqrt(0.8 * 0.2 / 10 + z * z / 400) / (1 + z * z / 10)
    iv = wilson(8, 10, unit="test_rows")
    assert iv.low == pytest.approx(centre - half) and iv.high == pytest.approx(centre + half)
    assert iv.low == pytest.approx(0.4902, abs=1e-4) and iv.high == pytest.approx(0.9433, abs=1e-4)
    assert (iv.method, iv.unit, iv.n) == ("wilson", "test_rows", 10)


def test_wilson_of_no_trials_is_unknown():
    iv = wilson(0, 0, unit="test_rows")
    assert iv.low is None and iv.high is None and iv.n == 0


def test_bootstrap_of_a_mean_covers_it_and_narrows_with_more_units():
    rng = np.random.default_rng(1)
    small = bootstrap(rng.integers(0, 2, 40), unit="pairs")
    large = bootstrap(rng.integers(0, 2, 4000), unit="pairs")
    assert small.low < 0.5 < small.high
    assert (large.high - large.low) < (small.high - small.low) / 5
    # the normal approximation of a proportion's interval at n = 4000
    assert large.high - large.low == pytest.approx(2 * 1.96 * math.sqrt(0.25 / 4000), rel=0.15)


def test_bootstrap_is_reproducible_and_unknown_below_two_units():
    values = [0.1, 0.4, 0.9, 0.3]
    assert bootstrap(values, unit="pairs") == bootstrap(values, unit="pairs")
    assert bootstrap([0.5], unit="pairs").low is None


def test_seed_spread_is_a_t_interval():
    iv = seed_spread([1.0, 2.0, 3.0])
    # mean 2, sd 1, t(0.975, 2) = 4.3027
    assert iv.low == pytest.approx(2 - 4.302653 / math.sqrt(3), abs=1e-5)
    assert iv.high == pytest.approx(2 + 4.302653 / math.sqrt(3), abs=1e-5)


def _ratio(sums):
    return {"mean": sums[0] / sums[1]}


def test_context_sums_give_the_same_interval_however_rows_are_batched():
    rng = np.random.default_rng(0)
    contexts = np.repeat(np.arange(50), 8)
    values = np.stack([rng.normal(size=400), np.ones(400)], axis=1)
    whole = ContextSums(2)
    whole.add(contexts, values)
    batched = ContextSums(2)
    for start in range(0, 400, 24):  # batches of 3 contexts
        batched.add(contexts[start : start + 24], values[start : start + 24])
    assert whole.intervals(_ratio) == batched.intervals(_ratio)
    assert whole.total() == pytest.approx(values.sum(0))


def test_the_block_bootstrap_resamples_contexts_not_tokens():
    # every token of a context has the same value: the interval must reflect 20 units, not 2000
    rng = np.random.default_rng(3)
    per_context = rng.normal(size=20)
    contexts = np.repeat(np.arange(20), 100)
    values = np.stack([np.repeat(per_context, 100), np.ones(2000)], axis=1)
    sums = ContextSums(2)
    sums.add(contexts, values)
    iv = sums.intervals(_ratio)["mean"]
    assert iv.n == 20 and iv.unit == "contexts"
    expected_half = 1.96 * per_context.std() / math.sqrt(20)
    assert (iv.high - iv.low) / 2 == pytest.approx(expected_half, rel=0.3)
