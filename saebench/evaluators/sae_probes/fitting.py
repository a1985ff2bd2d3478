"""The probes of Kantamneni et al. 2025 on arrays: latent selection, a logistic regression
whose C is chosen by cross-validated AUC, and the dense baselines (logistic regression, PCA
then logistic regression, k nearest neighbours). Pure functions of arrays, no model.

The rules are the package's (``sae_probes/utils_training.py``, ``run_sae_evals.py``):
- folds (:func:`cv_splits`): leave-2-out up to 12 rows, 6 shuffled stratified folds below 128,
  else one hold-out of the last ``min(20%, 100)`` rows; only folds whose validation part has
  both classes count; 3 rows or fewer: no search;
- C from ``logspace(5, -5, 10)``, the first with the best mean validation AUC; a training
  fold of one class scores 0.5;
- the final fit on the train rows in a seeded order; test accuracy and weighted F1 of the
  predicted class, AUC of the predicted probability.

Example:
    >>> fit = fit_cv_probe(x_train, y_train, x_test, y_test, penalty="l1", standardise=True)
    >>> fit.auc, fit.c
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

C_GRID = np.logspace(5, -5, 10)
_SCALE_FLOOR = 1e-12  # a train column with a smaller standard deviation is centred only


@dataclass
class Fit:
    """A fitted probe's test outcome: the positive-class probability and prediction per test
    row, their scores, and what the search chose (C, a PCA width or a k of neighbours)."""

    proba: np.ndarray
    pred: np.ndarray
    y: np.ndarray
    val_auc: float
    chosen: float | int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def auc(self) -> float:
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(self.y, self.proba)) if len(set(self.y)) == 2 else np.nan

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.pred == self.y))

    @property
    def f1(self) -> float:
        from sklearn.metrics import f1_score

        return float(f1_score(self.y, self.pred, average="weighted"))


def cv_splits(n: int, y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The package's folds for ``n`` train rows (its ``get_cv`` then ``get_splits``)."""
    from sklearn.model_selection import LeavePOut, StratifiedKFold

    if n <= 12:
        cv = LeavePOut(2)
    elif n < 128:
        cv = StratifiedKFold(n_splits=6, shuffle=True, random_state=seed)
    else:
        val = min(int(0.2 * n), 100)
        return [(np.arange(n - val), np.arange(n - val, n))]
    x = np.zeros((n, 1))
    return [(tr, va) for tr, va in cv.split(x, y) if len(np.unique(y[va])) == 2]


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both matrices scaled with the train rows' mean and standard deviation (float64)."""
    train, test = np.asarray(train, np.float64), np.asarray(test, np.float64)
    mean, scale = train.mean(0), train.std(0)
    scale[scale < _SCALE_FLOOR] = 1.0
    return (train - mean) / scale, (test - mean) / scale


def logistic(c: float | None, penalty: str, seed: int):
    """The package's estimator: L1 with saga or L2 with lbfgs, 1000 iterations."""
    from sklearn.linear_model import LogisticRegression

    kwargs = {} if c is None else {"C": float(c)}
    if penalty == "l1":
        return LogisticRegression(
            solver="saga", random_state=seed, max_iter=1000, **_l1(), **kwargs
        )
    return LogisticRegression(random_state=seed, max_iter=1000, **kwargs)


def _l1() -> dict:
    """L1 as this scikit-learn spells it (``penalty`` is deprecated from 1.8)."""
    import sklearn

    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    return {"l1_ratio": 1.0} if (major, minor) >= (1, 8) else {"penalty": "l1"}


def choose_c(x: np.ndarray, y: np.ndarray, penalty: str, seed: int) -> tuple[float | None, float]:
    """(C, its mean validation AUC) by the package's search; (None, nan) below 4 rows."""
    from sklearn.metrics import roc_auc_score

    if len(x) <= 3:
        return None, float("nan")
    splits = cv_splits(len(x), y, seed)
    means = []
    for c in C_GRID:
        scores = []
        for tr, va in splits:
            if len(np.unique(y[tr])) < 2:
                scores.append(0.5)
                continue
            model = logistic(c, penalty, seed).fit(x[tr], y[tr])
            scores.append(roc_auc_score(y[va], model.predict_proba(x[va])[:, 1]))
        means.append(np.mean(scores) if scores else np.nan)
    best = int(np.argmax(means))  # the package's rule: nan counts as the maximum
    return float(C_GRID[best]), float(means[best])


def fit_cv_probe(
    x_train, y_train, x_test, y_test, *, penalty: str = "l1", standardised: bool, seed: int
) -> Fit:
    """Logistic regression with C chosen by :func:`choose_c`, refitted on every train row
    (in the package's seeded order) and scored on the test rows."""
    from sklearn.metrics import roc_auc_score

    # the dtype stays as given unless standardised: scikit-learn's lbfgs fits float32 rows in
    # float32, as the package does with its float32 activations
    x_train, x_test = np.asarray(x_train), np.asarray(x_test)
    if standardised:
        x_train, x_test = standardise(x_train, x_test)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    c, val_auc = choose_c(x_train, y_train, penalty, seed)
    order = np.random.RandomState(seed).permutation(len(x_train))
    model = logistic(c, penalty, seed).fit(x_train[order], y_train[order])
    if c is None:  # the package scores the train rows instead
        val_auc = float(roc_auc_score(y_train, model.predict_proba(x_train)[:, 1]))
    proba = model.predict_proba(x_test)[:, 1]
    return Fit(proba, model.predict(x_test), y_test, val_auc, c)


def mean_activation_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The package's ranking score: ``|mean(pos) - mean(neg)|`` of each column divided by its
    mean absolute nonzero value (``mean_act_normalization``), in float32 as it computes."""
    x = np.asarray(x, np.float32)
    col_means = np.abs(x).sum(0) / ((x != 0).sum(0) + np.float32(1e-6))
    normed = x / (col_means + np.float32(1e-6))
    return np.abs(normed[y == 1].mean(0) - normed[y == 0].mean(0))


def select_top_k(x: np.ndarray, y: np.ndarray, k: int, method: str) -> np.ndarray:
    """The ``k`` columns ranked first on the train rows ``x``, best first."""
    from saebench.toolkit.probes import top_k_standardised

    if method == "standardised":
        return top_k_standardised(x, y, k)
    order = np.argsort(-mean_activation_difference(x, y), kind="stable")
    return order[: min(k, x.shape[1])]
