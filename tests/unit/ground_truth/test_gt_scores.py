"""Sample metrics as functions of summed counts: by hand, against sklearn and numpy, and the
block bootstrap's independence from the batching."""

import numpy as np
import pytest
import torch

from saebench.evaluators.ground_truth.blocks import BlockSums
from saebench.evaluators.ground_truth.scores import classification, reconstruction


def _counts(fires, present):
    fires, present = np.asarray(fires, bool), np.asarray(present, bool)
    return {
        "n": np.array([[fires.shape[0]]], float),
        "tp": (fires & present).sum(0, keepdims=True).astype(float),
        "fp": (fires & ~present).sum(0, keepdims=True).astype(float),
        "fn": (~fires & present).sum(0, keepdims=True).astype(float),
    }


def test_classification_by_hand():
    # latent 0: TP 1, FP 1, FN 1, TN 1 -> P 0.5, R 0.5, F1 0.5, acc 0.5
    # latent 1: dead while its feature fires twice -> P 0, R 0, F1 0, acc 0.5
    fires = [[1, 0], [1, 0], [0, 0], [0, 0]]
    present = [[1, 1], [0, 1], [1, 0], [0, 0]]
    out = {k: float(v[0]) for k, v in classification(_counts(fires, present)).items()}
    assert out == pytest.approx({"precision": 0.25, "recall": 0.25, "f1": 0.25, "accuracy": 0.5})


def test_classification_matches_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    present = rng.random((200, 12)) < 0.2
    fires = np.where(rng.random((200, 12)) < 0.7, present, rng.random((200, 12)) < 0.1)
    fires[:, 3] = False  # a dead latent
    present[:, 5] = False  # a latent whose feature never fires
    p, r, f, _ = metrics.precision_recall_fscore_support(
        present, fires, average=None, zero_division=0
    )
    acc = [metrics.accuracy_score(present[:, j], fires[:, j]) for j in range(12)]
    out = classification(_counts(fires, present))
    assert float(out["precision"][0]) == pytest.approx(p.mean())
    assert float(out["recall"][0]) == pytest.approx(r.mean())
    assert float(out["f1"][0]) == pytest.approx(f.mean())
    assert float(out["accuracy"][0]) == pytest.approx(np.mean(acc))


def test_reconstruction_against_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 1.0, (500, 6))  # a large mean, as a bias makes
    x_hat = 0.9 * x + rng.normal(0, 0.2, x.shape)
    x[7] = 0.0  # a zero row: skipped by shrinkage
    sums = {
        "n": np.array([[500.0]]),
        "sse": np.array([[((x - x_hat) ** 2).sum()]]),
        "sq": np.array([[(x**2).sum()]]),
        "sum_x": x.sum(0, keepdims=True),
        "shrink": np.array([[np.sum(np.linalg.norm(np.delete(x_hat, 7, 0), axis=1)
                                    / np.linalg.norm(np.delete(x, 7, 0), axis=1)), 499.0]]),
    }  # fmt: skip
    out = reconstruction(sums)
    expected = 1 - ((x - x_hat) ** 2).sum(1).mean() / ((x - x.mean(0)) ** 2).sum(1).mean()
    assert float(out["explained_variance"][0]) == pytest.approx(expected, rel=1e-9)
    keep = np.linalg.norm(x, axis=1) > 1e-6
    ratio = np.linalg.norm(x_hat[keep], axis=1) / np.linalg.norm(x[keep], axis=1)
    assert float(out["shrinkage"][0]) == pytest.approx(ratio.mean())


def test_constant_input_follows_saelens():
    base = {"n": np.array([[4.0]]), "sq": np.array([[4.0]]), "sum_x": np.array([[4.0]]),
            "shrink": np.array([[0.0, 0.0]])}  # fmt: skip
    perfect = reconstruction({**base, "sse": np.array([[0.0]])})
    off = reconstruction({**base, "sse": np.array([[1.0]])})
    assert float(perfect["explained_variance"][0]) == 1.0
    assert float(off["explained_variance"][0]) == 0.0
    assert float(off["shrinkage"][0]) == 0.0  # no row with ||x|| > 1e-6 counted


def test_block_sums_do_not_depend_on_batching():
    values = torch.randn(50, 3, dtype=torch.float64)
    one, many = BlockSums(7), BlockSums(7)
    one.add(torch.arange(50), n=torch.ones(50, 1, dtype=torch.float64), v=values)
    for start in range(0, 50, 9):
        rows = slice(start, start + 9)
        n = values[rows].shape[0]
        many.add(torch.arange(start, start + n), n=torch.ones(n, 1, dtype=torch.float64),
                 v=values[rows])  # fmt: skip

    def mean(s):
        return {"m": s["v"][..., 0] / s["n"][..., 0]}

    assert np.allclose(one.total()["v"], values.sum(0).numpy())
    a, b = one.intervals(mean), many.intervals(mean)
    assert a["m"].low == pytest.approx(b["m"].low) and a["m"].high == pytest.approx(b["m"].high)
    assert a["m"].n == 7 and a["m"].low < values[:, 0].mean() < a["m"].high


def test_block_sums_of_scattered_samples():
    """Samples out of order (index_add_ path) sum like consecutive ones (folding path)."""
    values = torch.randn(30, 2, dtype=torch.float64)
    order = torch.randperm(30, generator=torch.Generator().manual_seed(0))
    runs, scattered = BlockSums(4), BlockSums(4)
    runs.add(torch.arange(3, 33), v=values)
    scattered.add(order + 3, v=values[order])
    counts = values > 0
    runs.add(torch.arange(3, 33), c=counts)
    scattered.add(order + 3, c=counts[order])
    for name in ("v", "c"):
        assert torch.allclose(runs.sums[name], scattered.sums[name])
    # block of sample i is i mod 4: samples 3..32 put 8 in block 3, 7 in the others
    assert runs.sums["c"].shape == (4, 2)
    expected = torch.zeros(4, 2, dtype=torch.float64)
    for i in range(30):
        expected[(i + 3) % 4] += values[i]
    assert torch.allclose(runs.sums["v"], expected)
