"""The L1 probe RAVEL selects latents with (saebench.toolkit.probes.l1_probe_weights)."""

from __future__ import annotations

import numpy as np
import pytest

from saebench.toolkit.probes import l1_probe_weights


def _codes(n=240, d=40, informative=(3, 17, 29), seed=0):
    rng = np.random.default_rng(seed)
    labels = [("paris", "lima", "oslo")[i % 3] for i in range(n)]
    x = np.abs(rng.normal(size=(n, d))) * 0.3
    for value, column in enumerate(informative):  # one latent per value
        x[[i for i in range(n) if i % 3 == value], column] += 3.0
    return x, labels


def test_the_weights_fall_on_the_latents_that_tell_the_values_apart():
    x, labels = _codes()
    weights = l1_probe_weights(x, labels, c=0.1, seed=0)
    assert weights.shape == (40,) and (weights >= 0).all()
    assert set(np.argsort(-weights)[:3]) == {3, 17, 29}
    assert (weights > 0).sum() < 10  # L1: most latents get no weight at all


def test_a_weaker_penalty_gives_larger_weights_and_the_fit_is_seeded():
    x, labels = _codes()
    strong = l1_probe_weights(x, labels, c=0.05, seed=0)
    weak = l1_probe_weights(x, labels, c=10.0, seed=0)
    assert weak.sum() > strong.sum()
    assert np.array_equal(weak, l1_probe_weights(x, labels, c=10.0, seed=0))


def test_two_values_fit_one_problem():
    x, labels = _codes()
    two = [label if label == "paris" else "other" for label in labels]
    weights = l1_probe_weights(x, two, c=0.1, seed=0)
    assert int(np.argmax(weights)) == 3


def test_one_value_is_a_clear_error():
    x, labels = _codes()
    with pytest.raises(ValueError, match="two label values"):
        l1_probe_weights(x, ["paris"] * len(labels), c=0.1)
