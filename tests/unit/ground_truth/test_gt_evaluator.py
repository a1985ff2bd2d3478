"""The ground_truth evaluator end to end on a hand-made model: planted known answers, the
random-decoder baseline, SAELens parity, batching independence and the experimental
absorption and hedging."""

import math

import pytest
import torch
from gt_world import TinyModel, batches, evaluate, orthonormal, relu_sae, topk_sae

from saebench.errors import SaebenchError
from saebench.evaluators.base import EvalContext
from saebench.evaluators.ground_truth import GroundTruthConfig, GroundTruthEvaluator

# 8 orthonormal features in 8 dimensions: roots 0 and 1 with children 2, 3 and 4, 5; 6, 7 free
PARENT = [-1, -1, 0, 0, 1, 1, -1, -1]


@pytest.fixture(scope="module")
def world():
    model = TinyModel(orthonormal(8), torch.full((8,), 0.5), PARENT)
    x, a = model.sample(600, seed=1, p=0.5)
    assert ((a > 0).sum(0) > 0).all()  # every feature fires: no latent is trivially F1 0
    return model, x, a


def _exact_sae(model, scale=1.0):
    """Decoder rows are the true features (times scale): the encoder recovers a exactly
    (magnitudes are at least 0.5; the threshold removes float noise of absent features)."""
    F = model.features
    return relu_sae(F.T / scale, torch.zeros(8), F * scale, model.bias, threshold=0.1 / scale)


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_exact_sae_scores_perfectly(world, scale):
    model, x, a = world
    result = evaluate(_exact_sae(model, scale), model, x, a)
    m = result.metrics
    for name in ("mcc", "uniqueness", "precision", "recall", "f1", "accuracy"):
        assert getattr(m, name) == pytest.approx(1.0, abs=1e-5), name
    assert m.explained_variance == pytest.approx(1.0, abs=1e-5)
    assert m.shrinkage == pytest.approx(1.0, abs=1e-5)
    assert m.sae_l0 == pytest.approx(m.true_l0) and m.true_l0 == float((a > 0).sum()) / 600
    assert m.dead_latents == 0 and m.dead_fraction == 0
    assert m.absorption_rate == 0 and m.hedging == pytest.approx(0, abs=1e-10)
    assert result.nulls["mcc"] == m.random_decoder_mcc < 0.9
    assert result.intervals["f1"].low == pytest.approx(1.0) and "mcc" not in result.intervals
    assert result.sample_sizes == {"samples": 600, "sample_blocks": 100}


def test_random_sae_sits_at_the_random_baseline():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(64, 16, generator=g)
    model = TinyModel(features / features.norm(dim=1, keepdim=True), torch.zeros(16))
    x, a = model.sample(400, seed=2, p=0.1)
    trained = evaluate(topk_sae(model.features[:32].clone(), torch.zeros(16), 4), model, x, a)
    random = evaluate(topk_sae(torch.randn(32, 16, generator=g), torch.zeros(16), 4), model, x, a,
                      random_decoders=5)  # fmt: skip
    draws = random.details["random_decoders"]["mcc"]
    spread = max(draws) - min(draws)
    assert abs(random.metrics.mcc - random.metrics.random_decoder_mcc) < max(3 * spread, 0.03)
    assert trained.metrics.mcc > random.metrics.random_decoder_mcc + 0.3
    assert trained.metrics.f1 > random.metrics.f1 + 0.2


def test_matches_saelens_calculators():
    evals = pytest.importorskip("sae_lens.synthetic.evals")
    from sae_lens.evals import ExplainedVarianceCalculator

    g = torch.Generator().manual_seed(4)
    features = torch.randn(48, 16, generator=g)
    model = TinyModel(features / features.norm(dim=1, keepdim=True), torch.randn(16, generator=g),
                      [-1] * 8 + [i // 5 for i in range(40)])  # fmt: skip
    x, a = model.sample(700, seed=3, p=0.4)
    decoder = model.features[:24] + 0.4 * torch.randn(24, 16, generator=g)
    sae = topk_sae(decoder, model.bias, 5)
    with torch.no_grad():
        codes = sae.encode(x)
        x_hat = sae.decode(codes, x)
    cls = evals.ClassificationMetricsCalculator(sae.W_dec.detach(), model.features)
    cls.add_batch(codes, a)
    c = cls.compute()
    ev, shrink = ExplainedVarianceCalculator(), evals.ShrinkageCalculator()
    ev.add_batch(x_hat, x), shrink.add_batch(x_hat, x)
    m = evaluate(sae, model, x, a, batch_size=97).metrics
    assert m.precision == pytest.approx(c.precision, abs=1e-6)
    assert m.recall == pytest.approx(c.recall, abs=1e-6)
    assert m.f1 == pytest.approx(c.f1_score, abs=1e-6)
    assert m.accuracy == pytest.approx(c.accuracy, abs=1e-6)
    assert m.explained_variance == pytest.approx(ev.compute(), abs=1e-6)
    assert m.shrinkage == pytest.approx(shrink.compute(), abs=1e-6)
    assert m.mcc == pytest.approx(evals.mean_correlation_coefficient(decoder, features), abs=1e-6)
    assert m.uniqueness == pytest.approx(evals.feature_uniqueness(decoder, features))
    l0s, dead = [evals.L0Calculator(), evals.L0Calculator()], evals.DeadLatentsCalculator(24)
    l0s[0].add_batch(codes), l0s[1].add_batch(a), dead.add_batch(codes)
    assert m.sae_l0 == pytest.approx(l0s[0].compute()) and 4 < m.sae_l0 <= 5  # TopK 5, ReLU
    assert m.true_l0 == pytest.approx(l0s[1].compute())
    assert m.dead_latents == dead.compute()


def test_batch_size_changes_nothing(world):
    model, x, a = world
    sae = relu_sae(model.features.T + 0.3, torch.zeros(8), model.features, model.bias)
    small, large = evaluate(sae, model, x, a, batch_size=13), evaluate(sae, model, x, a, 600)
    assert small.metrics.model_dump() == pytest.approx(large.metrics.model_dump())
    for name, interval in small.intervals.items():
        assert interval.low == pytest.approx(large.intervals[name].low), name
    assert 0 < small.metrics.f1 < 1 and small.intervals["f1"].low < small.metrics.f1


def test_absorption_by_hand(world):
    """Parent 0's latent is silenced wherever a child of 0 is present: absorbed exactly
    then; parent 1 keeps its latent."""
    model, x, a = world
    sae = _exact_sae(model)
    codes = a.clone()
    child_of_0 = (a[:, 2] > 0) | (a[:, 3] > 0)
    codes[child_of_0, 0] = 0
    result = evaluate(sae, model, x, a, codes=codes)
    rate = float(((a[:, 0] > 0) & child_of_0).sum() / (a[:, 0] > 0).sum())
    assert 0.3 < rate < 1
    assert result.metrics.absorption_rate == pytest.approx(rate / 2)
    depth0 = result.details["hierarchy_experimental"]["by_depth"]["0"]
    assert depth0["parents"] == 2 and depth0["absorption_rate"] == pytest.approx(rate / 2)
    assert "absorption_rate" in result.intervals


def test_hedging_by_hand(world):
    """Parent 0's decoder row leans into child 2: F0 + 0.5 F2, so its hedging is
    (0.5 / sqrt(1.25))^2 = 0.2; parent 1 is exact."""
    model, x, a = world
    F = model.features
    decoder = F.clone()
    decoder[0] = F[0] + 0.5 * F[2]
    sae = relu_sae(F.T, torch.zeros(8), decoder, model.bias)
    m = evaluate(sae, model, x, a).metrics
    assert m.hedging == pytest.approx(0.2 / 2, abs=1e-6)
    assert m.mcc == pytest.approx((7 + 1 / math.sqrt(1.25)) / 8, abs=1e-6)


def test_parent_never_learnt_is_left_out(world):
    model, x, a = world
    decoder = model.features.clone()
    decoder[0] = model.features[6] + model.features[7]  # |cos| with feature 0 is 0
    sae = relu_sae(model.features.T, torch.zeros(8), decoder, model.bias)
    result = evaluate(sae, model, x, a, absorption_min_cos=0.5)
    assert result.details["hierarchy_experimental"]["parents"] == 1  # parent 1 only


def test_refuses_a_source_without_truth(world):
    model, x, a = world
    sae = _exact_sae(model)
    batch = next(batches(sae, x, a, 10))
    evaluator = GroundTruthEvaluator(GroundTruthConfig(), EvalContext(sae=sae, model=None))
    with pytest.raises(SaebenchError, match="synthetic source"):
        evaluator.update(batch)
    wide = TinyModel(orthonormal(12)[:, :12], torch.zeros(12))
    evaluator = GroundTruthEvaluator(GroundTruthConfig(), EvalContext(sae=sae, model=wide))
    with pytest.raises(SaebenchError, match="width 8"):
        evaluator.update(batch)
    with pytest.raises(SaebenchError, match="no sample"):
        GroundTruthEvaluator(GroundTruthConfig(), EvalContext(sae=sae, model=model)).finish()
