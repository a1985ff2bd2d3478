"""Parity with the sae-probes package's own probe fitting (``sae_probes/utils_training.py``)
on the same arrays and labels.

The module is loaded from its file, so the package's ``__init__`` (which imports sae-lens and
TransformerLens to generate activations) does not run; ``xgboost``, which it imports at the
top for a baseline this project does not offer, is not installed here and is stubbed. Its
latent ranking (``run_sae_evals.get_sorted_indices`` with ``mean_act_normalization``) lives
in a module that imports sae-lens at the top, so its three torch lines are repeated below.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings

import numpy as np
import pytest

from saebench.evaluators.sae_probes.baselines import run_baseline
from saebench.evaluators.sae_probes.fitting import fit_cv_probe, select_top_k


@pytest.fixture(scope="module")
def package():
    spec = importlib.util.find_spec("sae_probes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("sae-probes is not installed")
    path = f"{spec.submodule_search_locations[0]}/utils_training.py"
    sys.modules.setdefault("xgboost", types.ModuleType("xgboost"))  # unused here
    loaded = importlib.util.spec_from_file_location("_sae_probes_training", path)
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return module


def _data(n_train: int, width: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], (n_train + 200) // 2)
    x = (rng.random((len(y), width)) < 0.4) * rng.exponential(2.0, (len(y), width))
    x[:, 3] += 1.5 * y * rng.random(len(y))
    x[:, 5] += 0.8 * y
    x = x.astype(np.float32)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _same(theirs, mine, tol: float = 1e-9) -> None:
    got = (mine.auc, mine.accuracy, mine.f1, mine.val_auc)
    want = (theirs.test_auc, theirs.test_acc, theirs.test_f1, theirs.val_auc)
    assert got == pytest.approx(want, abs=tol)


@pytest.mark.parametrize("n_train", [8, 60, 200])
def test_the_l1_probe_is_the_packages_find_best_reg(package, n_train):
    x, y, xt, yt = _data(n_train, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = package.find_best_reg(x, y, xt, yt, penalty="l1", seed=42).metrics
        mine = fit_cv_probe(x, y, xt, yt, penalty="l1", standardised=False, seed=42)
    _same(theirs, mine)


def test_the_dense_baselines_are_the_packages(package):
    x, y, xt, yt = _data(150, 24, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(package.find_best_reg(x, y, xt, yt, seed=42).metrics, run_baseline(
            "logreg", x, y, xt, yt, seed=42))  # fmt: skip
        _same(package.find_best_knn(x, y, xt, yt, n_jobs=1, seed=42).metrics, run_baseline(
            "knn", x, y, xt, yt, seed=42), tol=1e-6)  # fmt: skip
        # PCA: the package's "auto" solver is exact at this size (24 columns); exact here too
        _same(package.find_best_pcareg(x, y, xt, yt, seed=42).metrics, run_baseline(
            "pca", x, y, xt, yt, seed=42), tol=1e-6)  # fmt: skip


def test_the_package_ranking_is_method_sae_probes():
    torch = pytest.importorskip("torch")
    x, y, _, _ = _data(200, 40, seed=2)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    # run_sae_evals.mean_act_normalization and get_sorted_indices, verbatim in substance
    col_means = x_t.abs().sum(dim=0) / ((x_t != 0).sum(dim=0) + 1e-6)
    normed = x_t / (col_means + 1e-6)
    diff = normed[y_t == 1].mean(dim=0) - normed[y_t == 0].mean(dim=0)
    theirs = torch.argsort(torch.abs(diff), descending=True)[:5].tolist()
    assert select_top_k(x, y, 5, "sae_probes").tolist() == theirs
