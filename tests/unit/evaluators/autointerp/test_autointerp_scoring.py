"""Scoring maths against hand-worked values."""

import random

import pytest

from saebench.evaluators.autointerp.scoring import auroc, balanced_accuracy, f1


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


def _plans(values, dense=0):
    from collections import Counter
    from types import SimpleNamespace

    scored = [
        SimpleNamespace(
            status="scored",
            scores={"detection": {"balanced_accuracy": v, "f1": v, "auroc": None, "n": 20,
                                  "positives": 10}},
            failures=Counter(),
            intervention={},
        )
        for v in values
    ]  # fmt: skip
    return scored + [
        SimpleNamespace(status="dense", scores={}, failures=Counter(), intervention={})
        for _ in range(dense)
    ]


def test_intervals_over_latents_contain_the_mean_and_are_seeded():
    from saebench.evaluators.autointerp import AutointerpConfig
    from saebench.evaluators.autointerp.summary import result_of

    rng = random.Random(5)
    values = [rng.random() for _ in range(40)]

    def result(seed, dense=0):
        config = AutointerpConfig(scorers=["detection"], seed=seed)
        usage = dict.fromkeys(("requests", "cache_hits", "prompt_tokens", "completion_tokens"), 0)
        details = {"lost_requests": {"explain": 0, "detection": 0}}
        return result_of(_plans(values, dense), config, usage, details, None, None)

    first = result(1, dense=10)
    mean = first.metrics.detection_balanced_accuracy
    iv = first.intervals["detection_balanced_accuracy"]
    assert mean == pytest.approx(sum(values) / 40)
    assert iv.low < mean < iv.high and iv.unit == "latents" and iv.n == 40
    # the width is about 2 x 1.96 standard errors of the mean
    sd = (sum((v - mean) ** 2 for v in values) / 39) ** 0.5
    assert iv.high - iv.low == pytest.approx(2 * 1.96 * sd / 40**0.5, rel=0.2)
    assert result(1).intervals["detection_balanced_accuracy"] == iv
    assert result(2).intervals["detection_balanced_accuracy"] != iv
    # the dense latents have no detection score: coverage 40 / 50
    assert first.metrics.detection_coverage == 0.8 and first.metrics.n_dense == 10
    assert first.sample_sizes == {"latents": 50, "latents_detection": 40, "examples_detection": 800}
    assert first.nulls["detection_f1"] == pytest.approx(0.5)  # half positive: 2 pi / (2 pi + 1)
    assert first.status == "complete"
