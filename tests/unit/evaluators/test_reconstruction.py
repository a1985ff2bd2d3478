import math

import pytest
import torch

from saebench.errors import SaebenchError
from saebench.evaluators.base import Downstream, EvalContext, SaeBatch
from saebench.evaluators.reconstruction import ReconstructionConfig, ReconstructionEvaluator


def _batch(target, x_hat, downstream=None, context=0, mask=None):
    """One context whose counted rows are ``target``."""
    target = torch.tensor(target, dtype=torch.float32)
    x_hat = torch.tensor(x_hat, dtype=torch.float32)
    n = target.shape[0]
    mask = torch.ones(1, n, dtype=torch.bool) if mask is None else torch.tensor([mask])
    return SaeBatch(
        sae=None,
        tokens=torch.zeros(mask.shape, dtype=torch.long),
        mask=mask,
        x=target,
        target=target,
        codes=torch.zeros(n, 3),
        x_hat=x_hat,
        downstream=downstream,
        context_start=context,
    )


def _run(batches, downstream=False, **config):
    config.setdefault("legacy_chunk_contexts", 1)
    evaluator = ReconstructionEvaluator(
        ReconstructionConfig(downstream=downstream, **config), EvalContext(sae=None)
    )
    for batch in batches:
        evaluator.update(batch)
    return evaluator.finish().metrics


BATCHES = [
    ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 1.0], [2.0, 4.0]]),
    ([[0.0, 1.0], [2.0, 2.0]], [[1.0, 1.0], [2.0, 2.0]]),
]


def test_formulas_match_values_worked_by_hand():
    m = _run([_batch(*b, context=i) for i, b in enumerate(BATCHES)])
    # squared errors per token: 1, 1, 1, 0 -> 3 over 4 tokens x 2 dims
    assert m.mse == pytest.approx(3 / 8)
    # mean target (1.5, 2.25); centred squared norms .3125 + 5.3125 + 3.8125 + .3125 = 9.75
    assert m.explained_variance == pytest.approx(1 - 3 / 9.75)
    assert m.fvu == pytest.approx(3 / 9.75)
    # legacy centres each chunk (one context here) on its mean: per-token 0.5, 0.5 | 0.2, 1.0
    assert m.explained_variance_legacy == pytest.approx(0.55)
    # sum ||x_hat||^2 = 2 + 20 + 2 + 8, sum <x, x_hat> = 3 + 22 + 1 + 8
    assert m.relative_reconstruction_bias == pytest.approx(32 / 34)
    cos = [3 / math.sqrt(10), 22 / (5 * math.sqrt(20)), 1 / math.sqrt(2), 1.0]
    assert m.cossim == pytest.approx(sum(cos) / 4)
    ratios = [math.sqrt(2 / 5), math.sqrt(20) / 5, math.sqrt(2), 1.0]
    assert m.l2_ratio == pytest.approx(sum(ratios) / 4)


def test_explained_variance_uses_the_run_mean_not_a_batch_mean():
    split = _run([_batch(*b, context=i) for i, b in enumerate(BATCHES)])
    joined = _run([_batch(BATCHES[0][0] + BATCHES[1][0], BATCHES[0][1] + BATCHES[1][1])])
    assert split.explained_variance == pytest.approx(joined.explained_variance)


def test_legacy_chunks_are_contexts_not_batches():
    """Two contexts in one chunk give the same legacy value in one batch or in two."""
    two_batches = _run(
        [_batch(*b, context=i) for i, b in enumerate(BATCHES)], legacy_chunk_contexts=2
    )
    one_context = _run([_batch(BATCHES[0][0] + BATCHES[1][0], BATCHES[0][1] + BATCHES[1][1])])
    assert two_batches.explained_variance_legacy == pytest.approx(
        one_context.explained_variance_legacy
    )
    per_context = _run([_batch(*b, context=i) for i, b in enumerate(BATCHES)])
    assert per_context.explained_variance_legacy != pytest.approx(
        two_batches.explained_variance_legacy
    )


def _downstream():
    """A context of 4 positions where position 2 is special (a separator)."""
    return Downstream(
        ce_clean=torch.tensor([[1.0, 2.0, 5.0]]),
        ce_spliced=torch.tensor([[1.5, 2.5, 6.0]]),
        ce_zero=torch.tensor([[3.0, 4.0, 9.0]]),
        kl_spliced=torch.tensor([[0.1, 0.3, 7.0, 0.2]]),
        kl_zero=torch.tensor([[1.0, 1.0, 7.0, 1.0]]),
    )


def test_downstream_scores_count_positions_by_their_input_token():
    """SAELens's rule: CE at t counts when token t is not special (t = 0, 1 and 3 has no
    next token), whatever token t+1 is; KL at every non-special position."""
    target = [[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]]
    batch = _batch(target, target, _downstream(), mask=[True, True, False, True])
    m = _run([batch], downstream=True)
    assert m.ce_loss_clean == pytest.approx(1.5)
    assert m.ce_loss_spliced == pytest.approx(2.0)
    assert m.ce_loss_zero_ablated == pytest.approx(3.5)
    assert m.ce_loss_score == pytest.approx((3.5 - 2.0) / (3.5 - 1.5))
    assert m.kl_spliced == pytest.approx(0.2)
    assert m.kl_div_score == pytest.approx((1.0 - 0.2) / 1.0)


def test_the_stricter_rule_also_drops_positions_that_predict_a_special_token():
    target = [[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]]
    batch = _batch(target, target, _downstream(), mask=[True, True, False, True])
    m = _run([batch], downstream=True, ce_positions="both_counted")
    assert m.ce_loss_clean == pytest.approx(1.0)  # position 1 predicts the separator
    assert m.ce_loss_score == pytest.approx((3.0 - 1.5) / (3.0 - 1.0))


def test_perfect_reconstruction_scores_one():
    target = [[1.0, -2.0], [0.5, 4.0], [3.0, 1.0]]
    m = _run([_batch(target, target)])
    assert m.mse == 0
    assert m.explained_variance == pytest.approx(1.0)
    assert m.cossim == pytest.approx(1.0)
    assert m.relative_reconstruction_bias == pytest.approx(1.0)


def test_no_tokens_is_a_user_error():
    with pytest.raises(SaebenchError, match="no token was evaluated"):
        _run([])
