"""A planted SAE whose latent 0 carries the spurious attribute: ablating it frees the biased
probe (SCR near 1), and the transcoder skip. No model: the preparation is built by hand from
synthetic pooled activations, then the evaluator's own per-SAE code runs on it."""

import functools
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import make_sae

from saebench.evaluators.scr_tpp.config import ScrConfig, TppConfig
from saebench.evaluators.scr_tpp.evaluator import ScrEvaluator, TppEvaluator
from saebench.evaluators.scr_tpp.prepare import Captured, Prepared, Probe, Rows
from saebench.evaluators.scr_tpp.probe import ProbeSettings, train_probe
from saebench.evaluators.scr_tpp.result import evaluate

D = 8


def _rows(n, rng, target, spurious):
    """Rows with the target on dim 0 (weaker) and the spurious attribute on dim 1
    (strong): a probe trained where both agree leans on dim 1."""
    x = rng.normal(0, 0.3, size=(n, D))
    x[:, 0] += 1.5 * (2 * target - 1)
    x[:, 1] += 3.0 * (2 * spurious - 1)
    return x


def _split(rng, q):
    """Quadrants (t, s) of q rows each, plus 2q extra of (1, 1) and (0, 0) for the biased set."""
    blocks, labels = [], []
    for t, s, n in ((1, 1, 2 * q), (1, 0, q), (0, 1, q), (0, 0, 2 * q)):
        blocks.append(_rows(n, rng, t, s))
        labels += [(t, s)] * n
    return np.vstack(blocks).astype(np.float32), np.array(labels)


def _sets(labels, q):
    idx = {k: np.flatnonzero((labels == k).all(1)) for k in [(1, 1), (1, 0), (0, 1), (0, 0)]}
    pp, pn, np_, nn = idx[(1, 1)], idx[(1, 0)], idx[(0, 1)], idx[(0, 0)]
    return {
        "spurious": (np.r_[pp[:q], np_[:q]], np.r_[pn[:q], nn[:q]]),
        "target": (np.r_[pp[:q], pn[:q]], np.r_[np_[:q], nn[:q]]),
        "biased": (pp[: 2 * q], nn[: 2 * q]),
    }


@functools.cache
def _prepared():
    rng = np.random.default_rng(0)
    (xtr, ltr), (xte, lte) = _split(rng, 50), _split(rng, 50)
    str_, ste = _sets(ltr, 50), _sets(lte, 50)
    sets, probes = {}, {}
    for kind in ("spurious", "target", "biased"):
        (a, b), (c, d) = str_[kind], ste[kind]
        rows = Rows(np.r_[a, b], np.r_[np.ones(len(a)), np.zeros(len(b))].astype(int),
                    np.r_[c, d], np.r_[np.ones(len(c)), np.zeros(len(d))].astype(int))  # fmt: skip
        sets[kind] = rows
        w, bias, acc = train_probe(xtr[rows.train], rows.train_y, xte[rows.test], rows.test_y,
                                   ProbeSettings(epochs=10, lr=1e-2), seed=0)  # fmt: skip
        probes[kind] = Probe(w, bias, acc)
    cap = [Captured(np.arange(len(x)), x, x) for x in (xtr, xte)]
    groups = [{"target": "target", "spurious": "spurious", "biased": "biased"}]
    return Prepared("scr", "text", "mean", *cap, sets, probes, groups)


def _basis_sae(dims):
    """A ReLU SAE with two latents per dimension of ``dims`` (+e_i, then -e_i), in order."""
    directions = np.vstack([sign * np.eye(D)[i] for i in dims for sign in (1, -1)])
    sae = make_sae("standard", d_in=D, d_sae=len(directions))
    with torch.no_grad():
        sae.W_enc.copy_(torch.tensor(directions, dtype=torch.float32).T)
        sae.b_enc.zero_()
        sae.W_dec.copy_(torch.tensor(directions, dtype=torch.float32))
        sae.b_dec.zero_()
    return sae


def test_ablating_the_planted_spurious_latent_removes_the_bias():
    p = _prepared()
    assert p.probes["biased"].accuracy > 0.95  # the biased probe fits its biased data
    planted = _basis_sae([1, 0, 2, 3, 4, 5, 6, 7])  # latents 0, 1: the spurious dim
    cfg = ScrConfig(n_values=[2, 5, 20], headline_n=2, null_draws=3)
    out = evaluate("scr", cfg, planted, p)
    run = out.details["runs"][0]
    assert sorted(run["top_latents"]["spurious"][:2]) == [0, 1]  # the planted latents
    # dir1: the biased probe on target data recovers most of the way to the oracle
    assert out.metrics.scr_dir1_threshold_2 > 0.8
    assert out.metrics.scr_metric_threshold_2 == out.metrics.scr_dir1_threshold_2
    iv = out.intervals["scr_metric_threshold_2"]
    assert iv.low <= out.metrics.scr_metric_threshold_2 <= iv.high
    assert iv.unit == "test_rows"
    # the null (2 random latents of 16) recovers far less on average
    assert out.nulls["scr_metric_threshold_2"] < out.metrics.scr_metric_threshold_2 - 0.3
    assert "Chanin 2026" in out.details["warning"]


def test_a_dictionary_blind_to_the_spurious_dimension_recovers_nothing():
    p = _prepared()
    blind = _basis_sae([0, 2, 3, 4, 5, 6, 7])  # no latent on dim 1
    out = evaluate("scr", ScrConfig(n_values=[2, 20], headline_n=2, null_draws=0), blind, p)
    assert abs(out.metrics.scr_dir1_threshold_2) < 0.15
    assert out.metrics.scr_metric_threshold_5 is None  # an N not run


@pytest.mark.parametrize(
    "evaluator, config", [(ScrEvaluator, ScrConfig), (TppEvaluator, TppConfig)]
)
def test_transcoders_are_skipped_cleanly(evaluator, config):
    sae = make_sae("standard", d_in=D, d_sae=16, hook_name="blocks.0.ln2.hook_normalized",
                   hook_name_out="blocks.0.hook_mlp_out")  # fmt: skip
    result = evaluator(config(), SimpleNamespace(sae=sae)).finish()
    assert result.details["status"].startswith("skipped: a transcoder")
    assert all(v in (None, 0.0) for v in result.metrics.model_dump().values())
