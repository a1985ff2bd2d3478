"""The paper's dense baselines on raw activations (``sae_probes/utils_training.py``):
``logreg`` (L2 logistic regression on the unscaled activations, C by cross-validated AUC),
``pca`` (standardised, the first 1..100 principal components, their number by cross-validated
AUC, then a default logistic regression) and ``knn`` (standardised, k nearest neighbours, k by
cross-validated AUC). Folds and tie rules are :func:`.fitting.cv_splits`'s.

One difference from the package, on purpose: PCA uses the exact SVD (``svd_solver="full"``).
The package leaves scikit-learn's "auto" solver, which picks an unseeded randomized SVD at
the paper's sizes, so its own PCA numbers move from run to run.

Example:
    >>> fit = run_baseline("pca", x_train, y_train, x_test, y_test, seed=42)
"""

from __future__ import annotations

import numpy as np

from saebench.evaluators.sae_probes.fitting import Fit, cv_splits, fit_cv_probe


def run_baseline(name: str, x_train, y_train, x_test, y_test, *, seed: int) -> Fit:
    """The baseline ``name`` (logreg, pca or knn) fitted on the train rows, scored on test."""
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if name == "logreg":
        return fit_cv_probe(
            x_train, y_train, x_test, y_test, penalty="l2", standardised=False, seed=seed
        )
    if name == "pca":
        return _pca(x_train, y_train, x_test, y_test, seed)
    if name == "knn":
        return _knn(x_train, y_train, x_test, y_test, seed)
    raise ValueError(f"unknown baseline {name!r}")


def _search(candidates, make, x_of, x: np.ndarray, y: np.ndarray, seed: int):
    """(best candidate, its mean validation AUC): the first strictly better one wins."""
    from sklearn.metrics import roc_auc_score

    splits = cv_splits(len(x), y, seed)
    best, best_score = None, -np.inf
    for value in candidates:
        xs = x_of(value)
        scores = [
            roc_auc_score(y[va], make(value).fit(xs[tr], y[tr]).predict_proba(xs[va])[:, 1])
            for tr, va in splits
        ]
        score = float(np.mean(scores))
        if score > best_score:
            best, best_score = value, score
    return best, best_score


def _scaled(x_train, x_test):
    """scikit-learn's StandardScaler on the train rows, as the package (dtype kept)."""
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_test)


def _pca(x_train, y_train, x_test, y_test, seed: int) -> Fit:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    train, test = _scaled(x_train, x_test)
    width = min(train.shape[0], train.shape[1], 100)
    dims = np.unique(np.logspace(0, np.log2(width), num=10, base=2, dtype=int))
    pca = PCA(n_components=width, svd_solver="full").fit(train)
    z_train, z_test = pca.transform(train), pca.transform(test)

    def make(_):
        return LogisticRegression(random_state=seed, max_iter=1000)

    if len(train) > 3:
        n, val_auc = _search(dims, make, lambda d: z_train[:, :d], z_train, y_train, seed)
    else:
        n, val_auc = z_train.shape[1], None
    model = make(n).fit(z_train[:, :n], y_train)
    if val_auc is None:
        val_auc = roc_auc_score(y_train, model.predict_proba(z_train[:, :n])[:, 1])
    z = z_test[:, :n]
    return Fit(model.predict_proba(z)[:, 1], model.predict(z), y_test, float(val_auc), int(n))


def _knn(x_train, y_train, x_test, y_test, seed: int) -> Fit:
    from sklearn.metrics import roc_auc_score

    train, test = _scaled(x_train, x_test)
    if len(train) > 3:
        splits = cv_splits(len(train), y_train, seed)
        smallest = min(len(tr) for tr, _ in splits) if splits else np.inf
        top = int(min(len(train) - 1, 100, smallest))
        ks = np.unique(np.logspace(0, np.log2(top), num=10, base=2, dtype=int))
        k, val_auc = _search(ks, _neighbours, lambda _: train, train, y_train, seed)
        model = _neighbours(k).fit(train, y_train)
    else:
        k, model = 1, _neighbours(1).fit(train, y_train)
        val_auc = roc_auc_score(y_train, model.predict_proba(train)[:, 1])
    proba = model.predict_proba(test)[:, 1]
    return Fit(proba, model.predict(test), np.asarray(y_test), float(val_auc), int(k))


def _neighbours(k: int):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=int(k))
