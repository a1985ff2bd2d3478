"""The shared probe toolkit: standardised selection, the fit's per-row predictions, chance."""

import numpy as np
import pytest

from saebench.toolkit.probes import (
    fit_probe,
    majority_rate,
    standardised_difference,
    top_k_standardised,
)


def test_the_standardised_difference_does_not_depend_on_a_feature_s_scale():
    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    x = rng.normal(size=(200, 3)) + y[:, None] * [1.0, 0.0, 0.0]
    scaled = x * [1000.0, 1.0, 0.001]
    assert standardised_difference(scaled, y) == pytest.approx(standardised_difference(x, y))
    assert top_k_standardised(scaled, y, 1).tolist() == [0]
    x[:, 2] = 7.0  # a constant feature scores 0, not a division by zero
    assert standardised_difference(x, y)[2] == 0.0


def test_a_fit_keeps_its_test_predictions_and_chance_is_the_majority_rate():
    rng = np.random.default_rng(1)
    y = np.arange(300) % 2
    x = rng.normal(size=(300, 2)) + 3 * y[:, None]
    fit = fit_probe(x[:200], y[:200], x[200:], y[200:])
    assert fit.correct.shape == (100,) and fit.accuracy == fit.correct.mean() > 0.9
    assert 0.9 < fit.auroc <= 1.0
    assert majority_rate(np.array([1, 1, 1, 0])) == 0.75
    assert majority_rate(np.array([0, 1])) == 0.5
