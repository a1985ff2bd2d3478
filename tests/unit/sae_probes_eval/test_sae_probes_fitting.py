"""sae_probes' probes against known answers: a planted latent, the C search against
scikit-learn called directly, the weighted scores against scikit-learn's weighted metrics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from saebench.evaluators.sae_probes.config import SaeProbesEvalConfig
from saebench.evaluators.sae_probes.fitting import (
    C_GRID,
    choose_c,
    cv_splits,
    fit_cv_probe,
    mean_activation_difference,
    select_top_k,
)
from saebench.evaluators.sae_probes.plan import plan_datasets
from saebench.evaluators.sae_probes.report import assemble
from saebench.evaluators.sae_probes.run import Prepared, sparse_fits
from saebench.evaluators.sae_probes.scoring import weighted_auc, weighted_f1
from saebench.toolkit.captures import Split

pytest.importorskip("sklearn")


class _Task:
    name = "planted"
    splits = ("train", "test")

    def attribute_values(self):
        return {"planted": ["0", "1"], "many": ["a", "b", "c"]}


def _split(n: int, rng, width: int = 48) -> Split:
    """Sparse nonnegative "codes": latent 7 fires exactly on positives, the rest at random."""
    y = rng.integers(0, 2, n)
    x = (rng.random((n, width)) < 0.3) * rng.exponential(1.0, (n, width))
    x[:, 7] = y * (1.0 + rng.random(n))
    labels = {
        "planted": np.array([str(v) for v in y], dtype=object),
        "many": np.array(["abc"[i % 3] for i in range(n)], dtype=object),
    }
    return Split(x.astype(np.float32), labels, n)


def _planted_report(columns=None):
    rng = np.random.default_rng(0)
    train, test = _split(240, rng), _split(160, rng)
    if columns is not None:  # only these latents: the probe cannot see latent 7
        train = Split(train.x[:, columns], train.labels, train.n_prompts)
        test = Split(test.x[:, columns], test.labels, test.n_prompts)
    cfg = SaeProbesEvalConfig(k=[1, 4], main_k=4, regimes=["scarcity"], n_train=[16])
    datasets, skipped = plan_datasets(cfg, _Task(), train, test, None)
    prepared = Prepared(train, test, None, datasets, skipped)
    fits = sparse_fits(cfg, prepared, (train.x, test.x, None))
    return assemble(cfg, fits, prepared)


def test_a_planted_latent_is_found_at_k1_and_random_latents_score_chance():
    found = _planted_report()
    # only the binary attribute is a dataset; the three-valued one is not probed
    assert list(found.details["datasets"]) == ["planted"]
    assert found.details["datasets"]["planted"]["selected"][0] == 7
    assert found.metrics["test_auc_k1"] > 0.99 and found.metrics["test_accuracy_k1"] > 0.97
    assert found.intervals["test_auc_k1"].low > 0.97
    assert found.metrics["test_auc_permuted"] == pytest.approx(0.5, abs=0.12)
    blind = _planted_report(columns=[i for i in range(48) if i != 7])
    assert blind.metrics["test_auc_k1"] == pytest.approx(0.5, abs=0.1)
    assert blind.metrics["test_auc_k4"] == pytest.approx(0.5, abs=0.1)
    assert blind.intervals["test_auc_k4"].low < 0.5 < blind.intervals["test_auc_k4"].high


def test_the_c_search_is_sklearns_own_fits_by_brute_force():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    for n in (6, 40, 150):  # leave-2-out, 6 stratified folds, one hold-out
        y = np.tile([0, 1], n // 2)
        x = rng.normal(size=(n, 5)) + 0.6 * y[:, None] * np.array([1, 0.5, 0, 0, 0])
        means = []
        for c in C_GRID:
            scores = []
            for tr, va in cv_splits(n, y, seed=3):
                model = LogisticRegression(C=c, solver="saga", l1_ratio=1.0, random_state=3)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.set_params(max_iter=1000).fit(x[tr], y[tr])
                scores.append(roc_auc_score(y[va], model.predict_proba(x[va])[:, 1]))
            means.append(np.mean(scores))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c, val = choose_c(x, y, "l1", seed=3)
        assert c == C_GRID[int(np.argmax(means))] and val == pytest.approx(max(means))


def test_folds_follow_the_package_rules():
    y = np.tile([0, 1], 100)
    assert len(cv_splits(12, y[:12], 0)) == 36  # leave-2-out pairs with both classes
    assert len(cv_splits(60, y[:60], 0)) == 6
    (train, val), *rest = cv_splits(200, y, 0)
    assert not rest and list(val) == list(range(160, 200)) and len(train) == 160


def test_fit_without_search_below_four_rows_uses_default_c():
    x, y = np.array([[0.0], [1.0], [2.0]]), np.array([0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_cv_probe(x, y, x, y, standardised=True, seed=0)
    assert fit.chosen is None and np.isfinite(fit.val_auc)


def test_selection_rules():
    rng = np.random.default_rng(2)
    y = np.tile([0, 1], 50)
    x = rng.normal(size=(100, 6))
    x[:, 4] += 2 * y  # the strongest by either rule
    x[:, 1] = 100 * (x[:, 1] + 0.5 * y)  # large scale, weaker standardised difference
    assert select_top_k(x, y, 1, "standardised")[0] == 4
    assert select_top_k(x, y, 2, "sae_probes")[0] in (1, 4)
    # the package's score by hand on column 4
    col = x[:, 4].astype(np.float32)
    norm = col / (np.abs(col).sum() / (np.count_nonzero(col) + 1e-6) + 1e-6)
    expected = abs(norm[y == 1].mean() - norm[y == 0].mean())
    assert mean_activation_difference(x, y)[4] == pytest.approx(expected, rel=1e-5)


def test_weighted_scores_match_sklearn_with_sample_weights():
    from sklearn.metrics import f1_score, roc_auc_score

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 80)
    scores = np.round(rng.random(80) + 0.3 * y, 1)  # ties on purpose
    w = rng.integers(0, 3, 80).astype(float)
    groups = np.unique(scores, return_inverse=True)[1]
    assert weighted_auc(groups, y.astype(float), w) == pytest.approx(
        roc_auc_score(y, scores, sample_weight=w)
    )
    pred = (scores > 0.6).astype(int)
    assert weighted_f1(y, pred, w) == pytest.approx(
        f1_score(y, pred, average="weighted", sample_weight=w)
    )
