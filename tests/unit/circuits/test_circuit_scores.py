"""Node and edge scores of discrete codes against hand-worked answers and sklearn."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from saebench.evaluators.circuits import scores as S

# 3 positive and 2 negative rows, 3 heads
POS = np.array([[0, 1, 5], [1, 1, 5], [2, 3, 5]])
NEG = np.array([[0, 1, 5], [0, 2, 5]])


def test_node_scores_count_codes_seen_only_on_positives():
    # head 0: {0,1,2} - {0} = 2; head 1: {1,3} - {1,2} = 1; head 2: {5} - {5} = 0
    assert S.node_scores(POS, NEG).tolist() == [2, 1, 0]
    # normalised by the distinct codes on both: 2/3, 1/3, 0/1
    assert S.node_scores(POS, NEG, normalise=True) == pytest.approx([2 / 3, 1 / 3, 0])


def test_pair_scores_count_code_pairs_seen_only_on_positives():
    pairs = S.pair_scores(POS, NEG)
    # heads 0,1: positive pairs (0,1) (1,1) (2,3), negative (0,1) (0,2): 2 unique
    # heads 0,2: (0,5) (1,5) (2,5) vs (0,5): 2; heads 1,2: (1,5) (3,5) vs (1,5) (2,5): 1
    assert pairs.tolist() == [[0, 2, 2], [2, 0, 1], [2, 1, 0]]
    # normalised: over distinct pairs on positives plus on negatives: 2/(3+2), 2/(3+1), 1/(2+2)
    normed = S.pair_scores(POS, NEG, normalise=True)
    assert normed[0, 1] == pytest.approx(0.4) and normed[0, 2] == pytest.approx(0.5)
    assert normed[1, 2] == pytest.approx(0.25)
    assert S.edge_head_scores(pairs).tolist() == [4, 3, 3]


def test_pair_scores_agree_with_a_set_count_on_random_tables():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(-1, 6, (40, 5)), rng.integers(-1, 6, (30, 5))
    pairs = S.pair_scores(pos, neg)
    for a in range(5):
        for b in range(a + 1, 5):
            seen_pos = set(zip(pos[:, a].tolist(), pos[:, b].tolist(), strict=True))
            seen_neg = set(zip(neg[:, a].tolist(), neg[:, b].tolist(), strict=True))
            assert pairs[a, b] == pairs[b, a] == len(seen_pos - seen_neg)


def test_topk_rule_counts_heads_of_the_best_pairs():
    pairs = np.array([[0, 5, 1], [5, 0, 2], [1, 2, 0]], dtype=float)
    # ranked ordered pairs: (0,1) (1,0) (1,2) (2,1) ...; first 4 heads: 0 1 1 0
    assert S.topk_edge_head_scores(pairs, 4).tolist() == [2, 2, 0]
    assert S.topk_edge_head_scores(pairs, 6).tolist() == [2, 3, 1]


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(20):
        scores = rng.integers(0, 4, 16).astype(float)  # many ties
        truth = rng.random(16) < 0.5
        if truth.all() or not truth.any():
            continue
        assert S.roc_auc(scores, truth) == pytest.approx(roc_auc_score(truth, scores))
    assert S.roc_auc(np.ones(3), np.array([True, True, True])) is None


def test_best_f1_is_the_best_threshold_by_brute_force():
    rng = np.random.default_rng(2)
    scores, truth = rng.random(12), rng.random(12) < 0.4
    brute = max(f1_score(truth, scores >= t) for t in scores)
    f1, variant = S.best_f1(scores, truth)
    assert f1 == pytest.approx(brute)
    # the reference's variant on a perfect ranking is 1 (TPR 1 at FPR 0)
    assert S.best_f1(truth.astype(float), truth) == (1.0, 1.0)
    assert 0 <= variant <= 1


def test_argmax_codes_mark_silent_rows():
    acts = np.array([[0.0, 2.0, 1.0], [0.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    assert S.argmax_codes(acts).tolist() == [1, S.SILENT, 0]


def test_permuted_codes_keep_each_heads_frequencies():
    rng = np.random.default_rng(3)
    pos, neg = rng.integers(0, 5, (20, 4)), rng.integers(0, 5, (10, 4))
    p, n = S.permuted_codes(pos, neg, rng)
    assert p.shape == pos.shape and n.shape == neg.shape
    for h in range(4):
        before = sorted(np.concatenate([pos[:, h], neg[:, h]]).tolist())
        assert sorted(np.concatenate([p[:, h], n[:, h]]).tolist()) == before


def test_a_planted_circuit_is_ranked_first_and_random_codes_are_not():
    rng = np.random.default_rng(4)
    n, heads = 60, 8
    truth = np.array([True] * 3 + [False] * 5)
    pos, neg = rng.integers(0, 3, (n, heads)), rng.integers(0, 3, (n, heads))
    pos[:, truth] += 3  # circuit heads use other codes on positives
    got = S.circuit_metrics(pos, neg, truth)
    assert got["node_auc"] == 1.0 and got["edge_auc"] == 1.0 and got["node_best_f1"] == 1.0
    nulls = [
        S.circuit_metrics(*S.permuted_codes(pos, neg, rng), truth)["node_auc"] for _ in range(50)
    ]
    assert np.mean(nulls) < 0.9
