import math

import pytest
import torch

from saebench.evaluators.base import Downstream, EvalContext, SaeBatch
from saebench.evaluators.reconstruction import ReconstructionConfig, ReconstructionEvaluator


def _batch(target, x_hat, downstream=None):
    target = torch.tensor(target, dtype=torch.float32)
    x_hat = torch.tensor(x_hat, dtype=torch.float32)
    n = target.shape[0]
    return SaeBatch(
        sae=None,
        tokens=torch.zeros(1, n, dtype=torch.long),
        mask=torch.ones(1, n, dtype=torch.bool),
        x=target,
        target=target,
        codes=torch.zeros(n, 3),
        x_hat=x_hat,
        downstream=downstream,
    )


def _run(batches, downstream=False):
    evaluator = ReconstructionEvaluator(
        ReconstructionConfig(downstream=downstream), EvalContext(sae=None)
    )
    for batch in batches:
        evaluator.update(batch)
    return evaluator.finish().metrics


BATCHES = [
    ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 1.0], [2.0, 4.0]]),
    ([[0.0, 1.0], [2.0, 2.0]], [[1.0, 1.0], [2.0, 2.0]]),
]


def test_formulas_match_values_worked_by_hand():
    m = _run([_batch(*b) for b in BATCHES])
    # squared errors per token: 1, 1, 1, 0 -> 3 over 4 tokens x 2 dims
    assert m.mse == pytest.approx(3 / 8)
    # mean target (1.5, 2.25); centred squared norms .3125 + 5.3125 + 3.8125 + .3125 = 9.75
    assert m.explained_variance == pytest.approx(1 - 3 / 9.75)
    assert m.fvu == pytest.approx(3 / 9.75)
    # legacy centres each batch on its own mean: per-token 0.5, 0.5 | 0.2, 1.0
    assert m.explained_variance_legacy == pytest.approx(0.55)
    # sum ||x_hat||^2 = 2 + 20 + 2 + 8, sum <x, x_hat> = 3 + 22 + 1 + 8
    assert m.relative_reconstruction_bias == pytest.approx(32 / 34)
    cos = [3 / math.sqrt(10), 22 / (5 * math.sqrt(20)), 1 / math.sqrt(2), 1.0]
    assert m.cossim == pytest.approx(sum(cos) / 4)
    ratios = [math.sqrt(2 / 5), math.sqrt(20) / 5, math.sqrt(2), 1.0]
    assert m.l2_ratio == pytest.approx(sum(ratios) / 4)


def test_explained_variance_uses_the_run_mean_not_a_batch_mean():
    split = _run([_batch(*b) for b in BATCHES])
    joined = _run([_batch(BATCHES[0][0] + BATCHES[1][0], BATCHES[0][1] + BATCHES[1][1])])
    assert split.explained_variance == pytest.approx(joined.explained_variance)
    assert split.explained_variance_legacy != pytest.approx(joined.explained_variance_legacy)


def test_downstream_scores():
    d = Downstream(
        ce_clean=torch.tensor([1.0, 2.0]),
        ce_spliced=torch.tensor([1.5, 2.5]),
        ce_zero=torch.tensor([3.0, 4.0]),
        kl_spliced=torch.tensor([0.1, 0.3]),
        kl_zero=torch.tensor([1.0, 1.0]),
    )
    m = _run([_batch(*BATCHES[0], downstream=d)], downstream=True)
    assert m.ce_loss_clean == pytest.approx(1.5)
    assert m.ce_loss_spliced == pytest.approx(2.0)
    assert m.ce_loss_zero_ablated == pytest.approx(3.5)
    assert m.ce_loss_score == pytest.approx((3.5 - 2.0) / (3.5 - 1.5))
    assert m.kl_div_score == pytest.approx((1.0 - 0.2) / 1.0)


def test_perfect_reconstruction_scores_one():
    target = [[1.0, -2.0], [0.5, 4.0], [3.0, 1.0]]
    m = _run([_batch(target, target)])
    assert m.mse == 0
    assert m.explained_variance == pytest.approx(1.0)
    assert m.cossim == pytest.approx(1.0)
    assert m.relative_reconstruction_bias == pytest.approx(1.0)


def test_no_tokens_is_an_error():
    with pytest.raises(ValueError):
        _run([])
