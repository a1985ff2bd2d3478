"""The regimes' rows: the sizes and shares the paper asks for, drawn deterministically and
independently of which other datasets or settings run beside them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from saebench.evaluators.sae_probes import sampling
from saebench.evaluators.sae_probes.config import SaeProbesEvalConfig
from saebench.evaluators.sae_probes.plan import plan_datasets
from saebench.toolkit.captures import Split


def _labels(n_pos: int, n_neg: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation([1] * n_pos + [0] * n_neg)


def test_normal_rows_are_balanced_capped_and_repeatable():
    y_tr, y_te = _labels(300, 200), _labels(80, 120, 1)
    rows = sampling.normal_rows(y_tr, y_te, max_train=256, seed=42, key="d")
    assert len(rows.train) == 256 and rows.y_train.sum() == 128
    assert len(rows.test) == 160 and rows.y_test.sum() == 80
    assert len(set(rows.train)) == len(rows.train)
    again = sampling.normal_rows(y_tr, y_te, max_train=256, seed=42, key="d")
    assert np.array_equal(rows.train, again.train) and np.array_equal(rows.test, again.test)
    other = sampling.normal_rows(y_tr, y_te, max_train=256, seed=42, key="e")
    assert not np.array_equal(rows.train, other.train)  # datasets draw their own rows


def test_regime_sizes_and_shares():
    y_tr, y_te = _labels(200, 150), _labels(60, 60, 1)
    normal = sampling.normal_rows(y_tr, y_te, max_train=1024, seed=0, key="d")
    scarce = sampling.scarcity_rows(y_tr, normal, 7, seed=0, key="d")
    assert len(scarce.train) == 7 and scarce.y_train.sum() == 4
    assert np.array_equal(scarce.test, normal.test)
    assert sampling.scarcity_rows(y_tr, normal, 500, seed=0, key="d") is None
    n = sampling.imbalance_size(y_tr, 1024)
    # the largest N whose 5% and 95% positive shares both fit 200 positives, 150 negatives
    assert math.ceil(0.95 * n) <= 200 and n - math.ceil(0.05 * n) <= 150
    assert math.ceil(0.95 * (n + 1)) > 200 or n + 1 - math.ceil(0.05 * (n + 1)) > 150
    for frac in (0.05, 0.3, 0.95):
        rows = sampling.imbalance_rows(y_tr, normal, frac, max_train=1024, seed=0, key="d")
        assert len(rows.train) == n and rows.y_train.sum() == math.ceil(frac * n)
    noisy = sampling.noise_rows(normal, 0.2, seed=0, key="d")
    flipped = int(np.sum(noisy.y_train != normal.y_train))
    assert flipped == int(0.2 * len(normal.train))
    assert np.array_equal(noisy.train, normal.train)
    permuted = sampling.permuted_rows(normal, seed=0, key="d")
    assert sorted(permuted.y_train) == sorted(normal.y_train)


class _Task:
    name = "two"
    splits = ("train", "test")

    def __init__(self, keys):
        self.keys = keys

    def attribute_values(self):
        return {k: ["0", "1"] for k in self.keys}


def _split(n: int, keys, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    labels = {k: np.array([str(v) for v in rng.integers(0, 2, n)], dtype=object) for k in keys}
    return Split(np.zeros((n, 1), np.float32), labels, n)


def test_a_datasets_rows_do_not_depend_on_the_others_or_the_grid():
    keys = ["a", "b"]
    train, test = _split(400, keys, 0), _split(200, keys, 1)
    wide = SaeProbesEvalConfig(n_train=[16, 64, 256], fractions=[0.1, 0.5, 0.9], noise=[0.2])
    narrow = SaeProbesEvalConfig(n_train=[64], fractions=[0.9], noise=[0.2], datasets=["b"])
    both, _ = plan_datasets(wide, _Task(keys), train, test, None)
    alone, _ = plan_datasets(narrow, _Task(keys), train, test, None)
    b_wide, b_alone = both[1], alone[0]
    assert b_wide.key == b_alone.key == "b"
    assert np.array_equal(b_wide.normal.train, b_alone.normal.train)
    for key in [("scarcity", "64"), ("imbalance", "0.9"), ("noise", "0.2"), ("permuted", "1")]:
        assert np.array_equal(b_wide.regimes[key].train, b_alone.regimes[key].train)
        assert np.array_equal(b_wide.regimes[key].y_train, b_alone.regimes[key].y_train)


def test_config_refuses_a_main_k_outside_k():
    with pytest.raises(ValueError, match="main_k"):
        SaeProbesEvalConfig(k=[1, 2], main_k=16)
    assert SaeProbesEvalConfig(paper_grids=True).grids()["n_train"][:3] == [2, 3, 4]
