"""Pair metrics of the compare evaluator against hand-worked values and numpy/scipy."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix

from saebench.evaluators.compare.config import CompareConfig
from saebench.evaluators.compare.pairs import CodeStats, activation_metrics, weight_metrics


def sae(w_dec, w_enc=None):
    w_dec = torch.as_tensor(w_dec, dtype=torch.float32)
    return SimpleNamespace(W_dec=w_dec, W_enc=w_dec.T.clone() if w_enc is None else w_enc)


def random_sae(n=64, d=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return sae(torch.randn(n, d, generator=gen), torch.randn(d, n, generator=gen))


def test_hand_worked_pair():
    # S = [[0.6, 1], [0.8, 0]]: MMCS 0.9 both ways; the best matching pairs 0-1 and 1-0
    a, b = sae([[1.0, 0.0], [0.0, 1.0]]), sae([[0.6, 0.8], [1.0, 0.0]])
    m = weight_metrics(a, b, CompareConfig())
    assert m["mmcs_dec_a_to_b"] == pytest.approx(0.9)
    assert m["mmcs_dec_b_to_a"] == pytest.approx(0.9)
    assert m["hungarian_dec_mean_cos"] == pytest.approx(0.9)
    assert m["frac_dec_matched_gt_0_5"] == 1.0 and m["frac_dec_matched_gt_0_9"] == 0.5
    # tied encoders: same matching, so agreement 1; shared needs both > 0.7: both pairs
    assert m["enc_dec_matching_agree"] == 1.0 and m["frac_shared_pb_0_7"] == 1.0


def test_itself_is_one_everywhere():
    a = random_sae()
    m = weight_metrics(a, a, CompareConfig())
    for name in ("mmcs_dec_sym", "hungarian_dec_mean_cos", "hungarian_enc_mean_cos"):
        assert m[name] == pytest.approx(1.0, abs=1e-5)
    assert m["frac_dec_matched_gt_0_9"] == 1.0 and m["frac_shared_pb_0_7"] == 1.0
    assert m["enc_dec_matching_agree"] == 1.0


def test_permuted_latents_match_fully_and_agree():
    a = random_sae(seed=1)
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(5))
    b = sae(a.W_dec[perm], a.W_enc[:, perm])  # the same latents in another order
    m = weight_metrics(a, b, CompareConfig())
    assert m["hungarian_dec_mean_cos"] == pytest.approx(1.0, abs=1e-5)
    assert m["enc_dec_matching_agree"] == 1.0 and m["frac_shared_pb_0_7"] == 1.0


def test_decoder_only_permuted_breaks_agreement_not_matching():
    # a cyclic shift of the decoder rows alone: each matching is still perfect, but the
    # decoder partner of every latent is another latent than its encoder partner
    a = random_sae(seed=2)
    b = sae(a.W_dec.roll(1, dims=0), a.W_enc)
    m = weight_metrics(a, b, CompareConfig())
    assert m["hungarian_dec_mean_cos"] == pytest.approx(1.0, abs=1e-5)
    assert m["hungarian_enc_mean_cos"] == pytest.approx(1.0, abs=1e-5)
    assert m["enc_dec_matching_agree"] == 0.0
    assert m["frac_shared_pb_0_7"] == 1.0  # P&B's test asks only that both cosines be high


def test_unsigned_sees_flipped_directions():
    a = random_sae(n=8, d=256, seed=3)  # nearly orthogonal latents
    b = sae(-a.W_dec, -a.W_enc)
    signed = weight_metrics(a, b, CompareConfig())
    unsigned = weight_metrics(a, b, CompareConfig(signed=False))
    assert signed["hungarian_dec_mean_cos"] < 0.2
    assert unsigned["hungarian_dec_mean_cos"] == pytest.approx(1.0, abs=1e-5)


def test_rectangular_pair_brute_checked():
    a, b = random_sae(n=5, seed=4), random_sae(n=8, seed=6)
    m = weight_metrics(a, b, CompareConfig())
    ua = a.W_dec / a.W_dec.norm(dim=1, keepdim=True)
    ub = b.W_dec / b.W_dec.norm(dim=1, keepdim=True)
    s = (ua @ ub.T).numpy()
    r, c = linear_sum_assignment(s, maximize=True)
    assert m["hungarian_dec_mean_cos"] == pytest.approx(s[r, c].mean(), abs=1e-5)
    assert m["mmcs_dec_a_to_b"] == pytest.approx(s.max(1).mean(), abs=1e-6)
    assert m["mmcs_dec_b_to_a"] == pytest.approx(s.max(0).mean(), abs=1e-6)


def sparse_codes(n_rows, n_latents, seed, dead=()):
    rng = np.random.default_rng(seed)
    codes = rng.exponential(size=(n_rows, n_latents)) * (rng.random((n_rows, n_latents)) < 0.2)
    codes[:, list(dead)] = 0.0
    return codes


@pytest.mark.parametrize("kept", [(csr_matrix, csr_matrix), (np.asarray, np.asarray),
                                  (csr_matrix, np.asarray), (np.asarray, csr_matrix)])  # fmt: skip
def test_activation_metrics_match_numpy_corrcoef(kept):
    # sparse codes stay sparse, dense ones are standardised: every combination agrees
    za = sparse_codes(500, 12, 0, dead=[3]) + 5.0 * (np.arange(12) == 5)  # one large mean
    zb = 0.7 * za[:, ::-1] + 0.3 * sparse_codes(500, 12, 1)  # correlated, reversed order
    stats_a, stats_b = CodeStats(kept[0](za)), CodeStats(kept[1](zb))
    m = activation_metrics(stats_a, stats_b, CompareConfig())
    with np.errstate(invalid="ignore"):
        c = np.corrcoef(za.T, zb.T)[:12, 12:]
    c = np.nan_to_num(c, nan=0.0)  # the dead latent correlates with nothing: 0
    r, k = linear_sum_assignment(c, maximize=True)
    assert m["act_semi_a_to_b"] == pytest.approx(c.max(1).mean(), abs=1e-5)
    assert m["act_semi_b_to_a"] == pytest.approx(c.max(0).mean(), abs=1e-5)
    assert m["act_hungarian_mean_corr"] == pytest.approx(c[r, k].mean(), abs=1e-5)
    assert m["act_frac_matched_corr_gt_0_7"] == pytest.approx((c[r, k] > 0.7).mean())


def test_activation_self_is_alive_fraction():
    z = csr_matrix(sparse_codes(300, 10, 2, dead=[0, 7]))
    m = activation_metrics(CodeStats(z), CodeStats(z), CompareConfig())
    assert m["act_hungarian_mean_corr"] == pytest.approx(0.8, abs=1e-6)  # 8 of 10 alive
    assert m["act_semi_matching_mean_corr"] == pytest.approx(0.8, abs=1e-6)
