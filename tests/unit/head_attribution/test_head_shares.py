"""Weight-based head attribution against hand-worked decoders and planted rows."""

import numpy as np
import pytest

from saebench.evaluators.head_attribution import shares as S
from saebench.evaluators.head_attribution.config import HeadAttributionConfig
from saebench.evaluators.head_attribution.run import attribution, null


def test_shares_are_block_norms_over_their_sum():
    W = np.array(
        [
            [3.0, 4.0, 0.0, 0.0],  # all in head 0
            [3.0, 4.0, 0.0, 5.0],  # norms 5 and 5
            [1.0, 0.0, 0.0, 3.0],  # norms 1 and 3
            [0.0, 0.0, 0.0, 0.0],  # a zero row has no shares
        ]
    )
    expected = [[1.0, 0.0], [0.5, 0.5], [0.25, 0.75], [0.0, 0.0]]
    np.testing.assert_allclose(S.head_shares(W, n_heads=2), expected)
    # blocks are head-major: [h0 d0, h0 d1, h1 d0, h1 d1], as hook_z flattens
    np.testing.assert_allclose(S.head_norms(W, 2)[1], [5.0, 5.0])
    with pytest.raises(ValueError, match="multiple of 3 heads"):
        S.head_shares(W, n_heads=3)


def _planted(d_head: int = 8, n_spread: int = 6, seed: int = 0) -> np.ndarray:
    """Head 0: two one-head rows with orthogonal blocks (two roles). Head 1: one one-head row
    and a near duplicate (cosine 0.95: one role). Heads 2, 3: only rows spread evenly."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((4 + n_spread, 4 * d_head))
    e = np.eye(d_head)
    rows[0, 0:d_head], rows[1, 0:d_head] = e[0], e[1]
    rows[2, d_head : 2 * d_head] = e[0]
    rows[3, d_head : 2 * d_head] = 0.95 * e[0] + np.sqrt(1 - 0.95**2) * e[1]
    for i in range(n_spread):
        blocks = rng.normal(size=(4, d_head))
        rows[4 + i] = (blocks / np.linalg.norm(blocks, axis=1, keepdims=True)).ravel()
    return rows


def test_planted_rows_give_the_hand_counted_head_statuses():
    W = _planted()
    readings = S.read_heads(W, 4, top_k=10, threshold=0.5, cosine=0.5)
    assert [r.status for r in readings] == ["polysemantic", "monosemantic"] + ["unattributed"] * 2
    assert readings[0].roles == [[0], [1]]
    assert readings[1].roles == [[2, 3]]
    m = S.weight_metrics(W, 4, top_k=10, threshold=0.5, cosine=0.5)
    assert m["polysemantic_head_fraction"] == 0.25
    assert m["monosemantic_head_fraction"] == 0.25
    assert m["unattributed_head_fraction"] == 0.5
    assert m["single_head_latent_fraction"] == pytest.approx(4 / 10)
    # one-head rows: max share 1, one effective head; spread rows: 1/4 each, 4 heads
    assert m["mean_max_head_share"] == pytest.approx((4 * 1.0 + 6 * 0.25) / 10)
    assert m["mean_effective_heads"] == pytest.approx((4 * 1.0 + 6 * 4.0) / 10)


def test_the_role_cosine_splits_or_merges_near_duplicates():
    W = _planted()
    strict = S.read_heads(W, 4, top_k=10, threshold=0.5, cosine=0.99)
    assert strict[1].status == "polysemantic"  # 0.95 < 0.99: two roles
    top1 = S.read_heads(W, 4, top_k=1, threshold=0.5, cosine=0.5)
    assert top1[0].status == "monosemantic"  # only the single best latent is read


def test_spreading_a_heads_rows_makes_it_unattributed():
    W = _planted()
    W[0:2, 8:] = np.tile(np.eye(8)[2], 3)  # head 0's rows now write equally in every head
    m = S.weight_metrics(W, 4, top_k=10, threshold=0.5, cosine=0.5)
    assert m["polysemantic_head_fraction"] == 0.0
    assert m["unattributed_head_fraction"] == 0.75


def test_random_rows_share_evenly_and_attribute_no_head():
    cfg = HeadAttributionConfig(null_seeds=2)
    found = null(cfg, n_rows=512, d_in=128, n_heads=4)
    np.testing.assert_allclose(found["mean_share_per_head"], 0.25, atol=0.01)
    assert found["metrics"]["single_head_latent_fraction"] == 0.0
    assert found["metrics"]["unattributed_head_fraction"] == 1.0
    # chi distribution with 32 degrees of freedom: shares stay near 1/4 (independent
    # Monte Carlo of the largest of four block norms over their sum)
    rng = np.random.default_rng(1)
    norms = np.linalg.norm(rng.normal(size=(20000, 4, 32)), axis=-1)
    expected = (norms.max(1) / norms.sum(1)).mean()
    assert found["metrics"]["mean_max_head_share"] == pytest.approx(expected, abs=0.005)


def test_bootstrap_intervals_cover_the_point_values():
    cfg = HeadAttributionConfig(n_resamples=50)
    found = attribution(cfg, _planted(n_spread=30), n_heads=4)
    for name, interval in found["intervals"].items():
        assert interval.unit == "latents" and interval.n == 34
        assert interval.low <= found["metrics"][name] + 1e-12
        assert interval.high >= found["metrics"][name] - 1e-12
    # resampling latents can lose head 0's second role: the interval is not a point
    poly = found["intervals"]["polysemantic_head_fraction"]
    assert poly.low < poly.high
