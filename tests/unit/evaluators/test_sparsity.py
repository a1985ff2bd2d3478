import pytest
import torch

from saebench.evaluators.base import EvalContext, SaeBatch
from saebench.evaluators.sparsity import SparsityConfig, SparsityEvaluator


def _batch(codes):
    codes = torch.tensor(codes, dtype=torch.float32)
    n = codes.shape[0]
    return SaeBatch(
        sae=None,
        tokens=torch.zeros(1, n, dtype=torch.long),
        mask=torch.ones(1, n, dtype=torch.bool),
        x=torch.zeros(n, 2),
        target=torch.zeros(n, 2),
        codes=codes,
        x_hat=torch.zeros(n, 2),
    )


def test_sparsity_by_hand():
    evaluator = SparsityEvaluator(SparsityConfig(), EvalContext(sae=None))
    evaluator.update(_batch([[0, 1, 0], [2, 0, 0]]))
    evaluator.update(_batch([[0, -3, 0], [0, 0, 0]]))
    result = evaluator.finish()
    m = result.metrics
    assert m.l0 == pytest.approx(3 / 4)
    assert m.l1 == pytest.approx(6 / 4)  # |codes|, so a signed code counts positively
    assert m.dead_fraction == pytest.approx(1 / 3)
    assert m.alive_fraction == pytest.approx(2 / 3)
    assert m.dense_fraction == pytest.approx(2 / 3)  # densities 0.25 and 0.5 exceed 0.1
    hist = result.details["firing_histogram"]
    assert hist["dead"] == 1
    assert sum(hist["counts"]) == 2
    edges = hist["log10_edges"]
    # density 0.25 (log10 -0.60) and 0.5 (log10 -0.30) both fall in the top bin [-0.5, 0]?
    top = [i for i in range(len(edges) - 1) if edges[i] <= -0.30103 <= edges[i + 1]][0]
    low = [i for i in range(len(edges) - 1) if edges[i] <= -0.60206 < edges[i + 1]][0]
    assert hist["counts"][top] >= 1 and hist["counts"][low] >= 1


def test_dense_threshold_is_configurable():
    evaluator = SparsityEvaluator(SparsityConfig(dense_threshold=0.3), EvalContext(sae=None))
    evaluator.update(_batch([[0, 1, 0], [2, 0, 0], [0, -3, 0], [0, 0, 0]]))
    assert evaluator.finish().metrics.dense_fraction == pytest.approx(1 / 3)
