"""Scoring maths against hand-worked values."""

import random

import pytest

from saebench.evaluators.autointerp.scoring import auroc, balanced_accuracy, f1, mean_interval


def test_balanced_accuracy_by_hand():
    # TPR 2/3, TNR 1/2
    assert balanced_accuracy([1, 1, 1, 0, 0], [1, 1, 0, 0, 1]) == pytest.approx((2 / 3 + 1 / 2) / 2)
    # imbalance does not reward always answering the majority class
    assert balanced_accuracy([1] * 9 + [0], [1] * 10) == pytest.approx(0.5)
    assert balanced_accuracy([1, 1], [1, 0]) is None  # one class only


def test_f1_by_hand():
    # TP 2, FP 1, FN 1 -> 4 / 6
    assert f1([1, 1, 1, 0, 0], [1, 1, 0, 1, 0]) == pytest.approx(4 / 6)
    assert f1([1, 1], [0, 0]) == 0.0
    assert f1([0, 0], [0, 0]) is None


def test_auroc_by_hand():
    # positives 0.9, 0.4; negatives 0.4, 0.1: pairs (0.9>0.4)(0.9>0.1)(0.4=0.4: half)(0.4>0.1)
    assert auroc([1, 0, 1, 0], [0.9, 0.1, 0.4, 0.4]) == pytest.approx(3.5 / 4)
    assert auroc([1, 0], [0.2, 0.8]) == 0.0
    assert auroc([1, 0], [0.2, None]) is None
    assert auroc([1, 1], [0.2, 0.3]) is None


def test_bootstrap_interval_contains_the_mean_and_is_seeded():
    rng = random.Random(5)
    values = [rng.random() for _ in range(40)]
    mean, low, high = mean_interval(values, seed=1)
    assert mean == pytest.approx(sum(values) / 40)
    assert low < mean < high
    # the width is about 2 x 1.96 standard errors of the mean
    sd = (sum((v - mean) ** 2 for v in values) / 39) ** 0.5
    assert high - low == pytest.approx(2 * 1.96 * sd / 40**0.5, rel=0.2)
    assert mean_interval(values, seed=1) == (mean, low, high)
    assert mean_interval(values, seed=2) != (mean, low, high)
    assert mean_interval([0.7], seed=0) == (0.7, 0.7, 0.7)
    assert mean_interval([], seed=0) == (None, None, None)
