"""Weight-only metrics: MCC by Hungarian matching against brute force, uniqueness and the
superposition stats by hand and against SAELens, the random decoders' seeding."""

import itertools
import math
from types import SimpleNamespace

import pytest
import torch

from saebench.evaluators.ground_truth.dictionary import match, random_decoders, superposition


def _brute_mcc(sim):
    """Best mean over one-to-one pairings of rows and columns, every pairing tried."""
    rows, cols = sim.shape
    if rows <= cols:
        return max(
            sum(sim[i, p[i]] for i in range(rows)) / rows
            for p in itertools.permutations(range(cols), rows)
        )
    return _brute_mcc(sim.T)


def _abs_cos(a, b):
    a = a / a.norm(dim=1, keepdim=True)
    b = b / b.norm(dim=1, keepdim=True)
    return (a @ b.T).abs()


def test_mcc_by_hand():
    features = torch.eye(2)
    # latent 0 at 60 degrees from feature 0 (cos 0.5, 0.866); latent 1 exactly -feature 1
    decoder = torch.tensor([[0.5, math.sqrt(3) / 2], [0.0, -1.0]])
    m = match(decoder, features)
    # greedy would give latent 0 feature 1 (0.866); the one-to-one best is (0,0), (1,1)
    assert m.mcc == pytest.approx((0.5 + 1.0) / 2)
    assert m.best.tolist() == [1, 1]
    assert m.uniqueness == pytest.approx(1 / 2)  # both latents' best is feature 1
    assert m.partner.tolist() == [0, 1]


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
def test_mcc_is_the_best_one_to_one_mean(shape):
    g = torch.Generator().manual_seed(sum(shape))
    d_sae, n = shape
    decoder, features = torch.randn(d_sae, 6, generator=g), torch.randn(n, 6, generator=g)
    m = match(decoder, features)
    sim = _abs_cos(decoder, features)
    assert m.mcc == pytest.approx(float(_brute_mcc(sim)), abs=1e-6)
    assert len(m.matched) == min(shape)
    assert m.uniqueness == len(set(sim.argmax(1).tolist())) / d_sae


def test_decoder_norms_do_not_matter():
    g = torch.Generator().manual_seed(1)
    decoder, features = torch.randn(5, 4, generator=g), torch.randn(7, 4, generator=g)
    scales = torch.tensor([0.01, 3.0, 1.0, 40.0, 0.5])[:, None]
    a, b = match(decoder, features), match(decoder * scales, features)
    assert a.mcc == pytest.approx(b.mcc, abs=1e-6)
    assert a.best.tolist() == b.best.tolist()


def test_random_decoders_are_seeded():
    features = torch.randn(40, 8, generator=torch.Generator().manual_seed(0))
    one = random_decoders(features, 10, 3, seed=5)
    assert one == random_decoders(features, 10, 3, seed=5)
    assert one["mcc"][0] != random_decoders(features, 10, 3, seed=6)["mcc"][0]
    assert one["mcc"][1] == random_decoders(features, 10, 1, seed=6)["mcc"][0]  # draw i: seed+i
    assert all(0 < v < 1 for v in one["mcc"])


def test_superposition_by_hand():
    c = math.sqrt(0.5)
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [c, c]])
    s = superposition(features, (50,))
    # |cos|: (0,1) 0, (0,2) c, (1,2) c; each feature's max is c
    assert s["mean_max_abs_cos"] == pytest.approx(c)
    assert s["mean_abs_cos"] == pytest.approx(2 * c / 3)
    # the median of two others: feature 0 -> (0 + c)/2, 1 -> same, 2 -> c
    assert s["mean_p50_abs_cos"] == pytest.approx((c / 2 + c / 2 + c) / 3)


def test_superposition_matches_saelens():
    stats = pytest.importorskip("sae_lens.synthetic.stats")
    features = torch.randn(300, 16, generator=torch.Generator().manual_seed(3))
    theirs = stats.compute_superposition_stats(
        SimpleNamespace(feature_vectors=features), batch_size=64, percentiles=[95, 99]
    )
    mine = superposition(features, (95, 99))
    assert mine["mean_max_abs_cos"] == pytest.approx(theirs.mean_max_abs_cos_sim, abs=1e-6)
    assert mine["mean_abs_cos"] == pytest.approx(theirs.mean_abs_cos_sim, abs=1e-6)
    for p in (95, 99):
        assert mine[f"mean_p{p}_abs_cos"] == pytest.approx(
            theirs.mean_percentile_abs_cos_sim[p], abs=1e-6
        )
