"""The retrieval measures against hand-worked values and independent implementations."""

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import ndcg_score

from saebench.evaluators.retrieval import scores as S


def test_overlap_and_recall_by_hand():
    truth = np.array([[0, 1, 2], [3, 4, 5]])
    found = np.array([[2, 5, 0], [6, 7, 3]])
    assert S.overlap_at_k(truth, found).tolist() == pytest.approx([2 / 3, 1 / 3])
    # the true nearest (0, then 3) is found in both rows, at other ranks
    assert S.recall_top1(truth, found).tolist() == [1.0, 1.0]
    assert S.recall_top1(truth, np.array([[1, 2, 9], [3, 8, 9]])).tolist() == [0.0, 1.0]


def test_top_indices_break_ties_by_index():
    sims = np.array([[0.5, 0.9, 0.5, 0.1]])
    assert S.top_indices(sims, 3).tolist() == [[1, 0, 2]]


def test_ndcg_matches_sklearn():
    rng = np.random.default_rng(0)
    true_sims = rng.uniform(-0.2, 1.0, size=(20, 50))
    other = true_sims + rng.normal(0, 0.2, size=true_sims.shape)
    found = S.top_indices(other, 10)
    ours = S.ndcg_at_k(true_sims, found)
    gains = np.clip(true_sims, 0, None)
    theirs = [ndcg_score(gains[i : i + 1], other[i : i + 1], k=10) for i in range(20)]
    assert ours == pytest.approx(theirs, abs=1e-12)


def test_ndcg_by_hand():
    # gains 3, 2, 1 (ideal order 0, 1, 2); the variant ranks 2, 0 first with k = 2
    true_sims = np.array([[3.0, 2.0, 1.0]])
    dcg = 1 / 1 + 3 / np.log2(3)
    ideal = 3 / 1 + 2 / np.log2(3)
    assert S.ndcg_at_k(true_sims, np.array([[2, 0]]))[0] == pytest.approx(dcg / ideal)


def test_spearman_matches_scipy_over_the_true_top():
    rng = np.random.default_rng(1)
    true_sims = rng.normal(size=(5, 300))
    other = true_sims + rng.normal(0, 0.5, size=true_sims.shape)
    ours = S.spearman_top(true_sims, other, 100)
    for i in range(5):
        top = np.argsort(-true_sims[i])[:100]
        assert ours[i] == pytest.approx(spearmanr(true_sims[i, top], other[i, top])[0], abs=1e-12)


def test_spearman_gives_ties_their_mean_rank_as_scipy():
    true_sims = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])
    other = np.array([[1.0, 0.0, 0.0, 0.5, 0.0]])  # the codes' similarities tie often
    assert S.spearman_top(true_sims, other, 5)[0] == pytest.approx(
        spearmanr(true_sims[0], other[0])[0]
    )


def test_perfect_variants_score_one():
    rng = np.random.default_rng(2)
    q, c = rng.normal(size=(30, 16)), rng.normal(size=(200, 16))
    found = S.retrieval_scores(q, c, q * 3.0, c, k=10, top=100)  # cosine ignores scale
    for name in S.MEASURES:
        assert found[name] == pytest.approx(np.ones(30)), name


def test_a_noisy_variant_scores_below_one_and_nDCG_stays_higher_than_overlap():
    rng = np.random.default_rng(3)
    q, c = rng.normal(size=(50, 16)), rng.normal(size=(400, 16))
    noisy = S.retrieval_scores(q, c, q + rng.normal(0, 0.3, size=q.shape), c, k=10)
    assert 0.2 < noisy["overlap"].mean() < 0.95
    assert noisy["ndcg"].mean() > noisy["overlap"].mean()  # why overlap is the main metric
