"""absorption: the per-token check against hand-worked values, and a planted dictionary
whose main latent for one letter is silent on some tokens where token latents carry the
probe direction (known answer through the k-sparse probes and the split choice)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from saebench.evaluators.absorption.config import AbsorptionConfig
from saebench.evaluators.absorption.probes import KProbe, f1_score, split_latents
from saebench.evaluators.absorption.run import Prepared, measure
from saebench.evaluators.absorption.scores import token_interval, token_scores

R2 = math.sqrt(2)


def hand_worked():
    """Residual e0..e3, probe e0. Latent 0 = e0 (main), 1 = (e0 + e1)/sqrt2 (absorber),
    2 = e1, 3 = e2. Rows: main fires fully; absorbed; half and half; absorber too weak."""
    w_dec = np.array([[1, 0, 0, 0], [1 / R2, 1 / R2, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    acts = np.array([[2, 0, 0, 0], [2, 2, 0, 0], [2, 1, 0, 0], [2, 0.5, 0, 0]], dtype=float)
    codes = np.array([[2, 0, 0, 0], [0, 2 * R2, 0, 0], [1, R2, 0, 0], [0, 0.5 * R2, 0, 0]])
    return acts, codes, w_dec


def test_hand_worked_tokens():
    acts, codes, w_dec = hand_worked()
    cos = w_dec @ np.array([1.0, 0, 0, 0])
    s = token_scores(acts, codes, np.array([1.0, 0, 0, 0]), cos, main=[0])
    np.testing.assert_allclose(s.probe_proj, [2, 2, 2, 2])
    np.testing.assert_allclose(s.main_proj, [2, 0, 1, 0])
    # row 0: main >= probe -> 0; row 1: main silent, absorber carries all -> 1;
    # row 2: A = 1, m = min(1, 2 - 1) = 1 -> 1 / (1 + 1); row 3: A / probe = 0.25 < 0.4 -> 0
    np.testing.assert_allclose(s.fraction, [0, 1, 0.5, 0])
    # PR 48: (T - main) / T with T every latent's projection: row 3 counts fully
    np.testing.assert_allclose(s.fraction_legacy, [0, 1, 0.5, 1])
    assert s.full.tolist() == [False, True, False, False]


def test_an_absorber_below_the_cosine_threshold_does_not_count():
    acts = np.array([[2.0, 0, 0]])
    w_dec = np.array([[1.0, 0, 0], [0.09, math.sqrt(1 - 0.09**2), 0]])  # cos 0.09 < 0.1
    codes = np.array([[0.0, 2 / 0.09]])  # projects 2 = the whole probe projection
    cos = w_dec @ np.array([1.0, 0, 0])
    s = token_scores(acts, codes, np.array([1.0, 0, 0]), cos, main=[0])
    assert s.fraction.tolist() == [0.0]  # fraction needs cos >= 0.1
    assert s.full.tolist() == [True]  # full absorption needs cos >= 0.025 only


def test_at_most_three_absorbers_are_summed():
    acts = np.array([[4.0, 0]])
    w_dec = np.array([[1.0, 0]] + [[0.6, 0.8]] * 5)
    codes = np.array([[1.0] + [1 / 0.6] * 5])  # main 1, five absorbers of projection 1 each
    s = token_scores(acts, codes, np.array([1.0, 0]), w_dec[:, 0], main=[0])
    # A = 3 (three of five), m = min(3, 4 - 1) = 3 -> 3 / (3 + 1)
    np.testing.assert_allclose(s.fraction, [0.75])


def test_split_latents_grow_while_f1_jumps():
    probes = [KProbe([5], 0.5), KProbe([5, 2], 0.6), KProbe([5, 2, 9], 0.62), KProbe([1], 0.99)]
    assert split_latents(probes, 0.03) == [5, 2]
    assert split_latents(iter(probes[:1]), 0.03) == [5]
    assert f1_score(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0])) == 0.5


def planted(n_per_letter=60, n_absorbed=8, seed=0):
    """Letters a..d along e0..e3 (x = 3 e_letter); ``n_absorbed`` test words of 'a' also
    carry a token direction t_j (e4..), where the 'a' latent is silenced and a token
    latent (decoder (e0 + t_j)/sqrt2) fires instead. Probe = e_letter, bias -1.5."""
    d, letters = 4 + n_absorbed, 4
    w_enc = np.zeros((d, letters + n_absorbed))
    w_dec = np.zeros((letters + n_absorbed, d))
    for i in range(letters):
        w_enc[i, i], w_dec[i, i] = 1.0, 1.0
    for j in range(n_absorbed):
        t = 4 + j
        w_enc[t, 0] = -10.0  # the main 'a' latent is silent where the token is
        w_enc[t, letters + j] = 1.0
        w_dec[letters + j, [0, t]] = 1 / R2

    def split(n, absorbed):
        y = np.repeat(np.arange(letters), n)
        x = 3.0 * np.eye(d)[y]
        for j in range(absorbed):
            x[j, 4 + j] = 3.0  # rows 0..absorbed-1 are 'a' words with a token latent
        return x, y, np.maximum(x @ w_enc, 0)

    x_train, y_train, c_train = split(n_per_letter, 0)
    x_test, y_test, c_test = split(n_per_letter, n_absorbed)
    w = np.zeros((26, d))
    w[:letters, :letters] = np.eye(letters)
    f1 = {letter: 1.0 for letter in "abcd"}
    p = Prepared(x_train, y_train, x_test, y_test, [], w, np.full(26, -1.5), f1, 1.0, 0.25)
    return p, w_dec, c_train, c_test


def test_a_planted_absorbed_letter_has_the_known_answer():
    p, w_dec, c_train, c_test = planted()
    cfg = AbsorptionConfig(sparse_epochs=20, sparse_batch_size=16)
    letters = {s.letter: s for s in measure(cfg, w_dec, c_train, c_test, p, list("abcd"))}
    a = letters["a"]
    assert a.split == [0]  # each token latent adds 1/60 recall: below the 0.03 F1 jump
    assert a.tokens.fraction.tolist() == [1.0] * 8 + [0.0] * 52
    assert a.tokens.full.tolist() == [True] * 8 + [False] * 52
    assert a.summary()["mean_absorption_fraction"] == pytest.approx(8 / 60)
    for other in "bcd":
        assert letters[other].split == ["abcd".index(other)]
        assert letters[other].tokens.fraction.sum() == 0 and not letters[other].tokens.full.any()
    interval = token_interval(list(letters.values()), "fraction")
    assert interval.low < 2 / 60 < interval.high and interval.n == 240


def test_an_absorber_that_fires_for_every_absorbed_token_becomes_a_split_latent():
    """One latent absorbing many tokens is a split of the letter, not absorption: the
    k-sparse probe on two latents gains more than 0.03 F1, so the absorber is main."""
    p, w_dec, c_train, c_test = planted(n_absorbed=1)
    c_test = c_test.copy()
    absorbed = np.arange(20)  # twenty 'a' words share the one token latent
    p.x_test[absorbed, 4] = 3.0
    c_test[absorbed, 0], c_test[absorbed, 4] = 0.0, 3.0
    c_train = c_train.copy()
    c_train[:20, 0], c_train[:20, 4] = 0.0, 3.0
    cfg = AbsorptionConfig(sparse_epochs=20, sparse_batch_size=16)
    a = next(s for s in measure(cfg, w_dec, c_train, c_test, p, ["a"]))
    assert sorted(a.split) == [0, 4]
    assert a.tokens.fraction.sum() == 0
