"""The compare panel on zoo SAEs with planted answers: itself, a permuted copy, an untrained
SAE (which must land on the random baseline), and the order of members not mattering."""

from __future__ import annotations

import copy

import pytest
import torch

from saebench.adapters.resolve import load_sae
from saebench.evaluators.compare.config import CompareConfig
from saebench.evaluators.compare.panel import Panel
from saebench.sae.controls import make_control


@pytest.fixture(scope="module")
def topk():
    return load_sae("zoo:resid-topk-16")


@pytest.fixture(scope="module")
def inputs(topk):
    gen = torch.Generator().manual_seed(0)
    return torch.randn(3000, topk.d_in, generator=gen) + topk.b_dec.detach()


def run(saes, x, **config):
    panel = Panel(saes, CompareConfig(**config))
    for start in range(0, len(x), 1000):
        panel.collect(x[start : start + 1000])
    return panel.evaluate()


def permuted(sae, seed=3):
    """The same latents in another order: encoder columns, biases and decoder rows."""
    order = torch.randperm(sae.d_sae, generator=torch.Generator().manual_seed(seed))
    twin = copy.deepcopy(sae)
    twin.W_enc.data = sae.W_enc.data[:, order].clone()
    twin.b_enc.data = sae.b_enc.data[order].clone()
    twin.W_dec.data = sae.W_dec.data[order].clone()
    twin.meta = sae.meta.model_copy(update={"source": "permuted"})
    return twin


def test_itself_and_permuted_copy_score_one(topk, inputs):
    result = run([topk, copy.deepcopy(topk), permuted(topk)], inputs)
    m = result.metrics
    for name in ("mmcs_dec_sym", "hungarian_dec_mean_cos", "hungarian_enc_mean_cos"):
        assert getattr(m, name) == pytest.approx(1.0, abs=1e-5)
    assert m.frac_dec_matched_gt_0_9 == 1.0 and m.frac_shared_pb_0_7 == 1.0
    assert m.enc_dec_matching_agree == 1.0
    # activations: a latent correlates 1 with its own copy, dead ones (sd 0) give 0
    alive = float((result_codes_alive(topk, inputs)).float().mean())
    assert m.act_hungarian_mean_corr == pytest.approx(alive, abs=1e-5)
    assert m.n_pairs == 3 and len(result.details["pairs"]) == 3
    assert result.details["matching"] == "exact"


def result_codes_alive(sae, x):
    codes = sae.encode(x)
    return codes.std(0) > 0


def test_untrained_sae_lands_on_random_baseline(topk, inputs):
    untrained = make_control(topk, "random_init", seed=11)
    m = run([topk, untrained], inputs).metrics
    trained_pair = run([topk, permuted(topk)], inputs).metrics
    assert m.hungarian_dec_mean_cos == pytest.approx(m.random_baseline_hungarian, abs=0.05)
    assert m.mmcs_dec_sym == pytest.approx(m.random_baseline_mmcs, abs=0.05)
    assert m.random_baseline_hungarian < 0.5 < trained_pair.hungarian_dec_mean_cos
    assert m.frac_dec_matched_gt_0_7 == 0.0


def test_order_of_members_does_not_change_numbers(inputs):
    a, b = load_sae("zoo:resid-topk-8"), load_sae("zoo:resid-topk-32")
    first, second = run([a, b], inputs[:500]), run([b, a], inputs[:500])
    assert first.metrics == second.metrics
    assert first.details["members"] == ["zoo:resid-topk-32", "zoo:resid-topk-8"]
    matrix = first.details["matrices"]["mmcs_dec_a_to_b"]
    assert matrix[0][0] is None
    assert matrix[0][1] == first.details["pairs"][0]["mmcs_dec_a_to_b"]
    assert matrix[1][0] == first.details["pairs"][0]["mmcs_dec_b_to_a"]


def test_weights_only_and_approximate(topk):
    other = load_sae("zoo:resid-topk-32")
    exact = run([topk, other], torch.empty(0, topk.d_in), n_activation_samples=0)
    approx = run(
        [topk, other], torch.empty(0, topk.d_in), n_activation_samples=0, max_exact_latents=100
    )
    assert exact.metrics.act_hungarian_mean_corr is None
    assert approx.details["matching"] == "approximate"
    assert approx.metrics.hungarian_dec_mean_cos == pytest.approx(
        exact.metrics.hungarian_dec_mean_cos, abs=0.01
    )
    assert approx.metrics.hungarian_dec_mean_cos <= exact.metrics.hungarian_dec_mean_cos + 1e-6
