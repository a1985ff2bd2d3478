"""Logistic-regression probes on feature matrices, shared by the evaluators that probe:
feature selection, the fit and its per-row test predictions (so intervals can resample test
rows or entities) for sparse probing, and the L1 probe whose nonzero weights pick RAVEL's
latents (:func:`l1_probe_weights`).

Features are standardised on the train rows, both to select them and to fit them: a
feature's raw mean difference grows with its scale, so on raw values a large uninformative
latent outranks a small perfect one (issue 17 part 8), and ``C`` means the same for a
latent in [0, 100] as for one in [0, 1].

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(100, 3)); y = np.arange(100) % 2
    >>> x[:, 1] += 3 * y
    >>> top_k_standardised(x, y, 1).tolist()
    [1]
    >>> fit = fit_probe(x[:60], y[:60], x[60:], y[60:])
    >>> fit.accuracy > 0.9
    True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

_CONSTANT = 1e-12  # a column with a smaller train standard deviation is treated as constant


def _scale(x: np.ndarray) -> np.ndarray:
    scale = x.std(0)
    scale[scale < _CONSTANT] = 1.0
    return scale


def standardised_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per column, ``|mean over y == 1 - mean over y == 0|`` over the column's standard
    deviation on all rows (0 for a constant column), in float64."""
    x = np.asarray(x, dtype=np.float64)
    difference = np.abs(x[y == 1].mean(0) - x[y == 0].mean(0))
    std = x.std(0)
    return np.where(std < _CONSTANT, 0.0, difference / np.maximum(std, _CONSTANT))


def top_k_standardised(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` columns of largest :func:`standardised_difference`, largest
    first; ties go to the lower index."""
    order = np.argsort(-standardised_difference(x, y), kind="stable")
    return order[: min(k, x.shape[1])]


@dataclass(frozen=True)
class ProbeFit:
    """A fitted probe's test decision values and labels."""

    scores: np.ndarray  # [n_test] decision function (> 0: positive)
    y: np.ndarray  # [n_test] 0/1

    @property
    def correct(self) -> np.ndarray:
        return (self.scores > 0).astype(np.int64) == self.y

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    @property
    def auroc(self) -> float:
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(self.y, self.scores))


def fit_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    c: float = 1.0,
    seed: int = 0,
) -> ProbeFit:
    """A logistic regression (L2, inverse strength ``c``, L-BFGS) on features standardised
    with the train mean and standard deviation (a constant column is centred only)."""
    from sklearn.linear_model import LogisticRegression

    x_train = np.asarray(x_train, dtype=np.float64)
    x_test = np.asarray(x_test, dtype=np.float64)
    mean, scale = x_train.mean(0), _scale(x_train)
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    model.fit((x_train - mean) / scale, y_train)
    return ProbeFit(model.decision_function((x_test - mean) / scale), np.asarray(y_test))


def l1_probe_weights(
    x: np.ndarray, labels: Sequence[str], *, c: float, seed: int = 0
) -> np.ndarray:
    """Per column of ``x`` ``[n, d]``, the summed absolute weight of one L1 logistic
    regression per value of ``labels`` against the rest (inverse strength ``c``, raw
    features, float64); a column no problem uses weighs 0. Needs two values at least.

    This is not :func:`fit_probe`'s estimator: L1 and no standardisation, as RAVEL selects
    latents (a weight is nonzero or not), where :func:`fit_probe` is an L2 classifier.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    from saebench.toolkit.determinism import fixed_threads

    if len(set(labels)) < 2:
        raise ValueError("an L1 probe needs two label values at least; skip a constant target")
    # one L1 problem per value (liblinear is exact for L1 and fits no multinomial model)
    one = LogisticRegression(
        C=c, solver="liblinear", random_state=seed, max_iter=1000, **_l1_penalty()
    )
    with fixed_threads():
        probe = OneVsRestClassifier(one).fit(np.asarray(x, dtype=np.float64), list(labels))
    return np.vstack([np.abs(e.coef_) for e in probe.estimators_]).sum(0)


def _l1_penalty() -> dict:
    """The L1 penalty as this scikit-learn spells it (``penalty`` is deprecated in 1.8)."""
    import sklearn

    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    return {"l1_ratio": 1.0} if (major, minor) >= (1, 8) else {"penalty": "l1"}


def majority_rate(y: np.ndarray) -> float:
    """Accuracy of always answering the more frequent class of ``y`` (a probe's chance)."""
    y = np.asarray(y)
    return float(max(y.mean(), 1 - y.mean())) if len(y) else float("nan")


@contextmanager
def probe_threads() -> Iterator[None]:
    """One BLAS and one torch thread: the fits are small and many, so threads only contend,
    and one thread keeps the sums, hence the numbers, the same on every machine."""
    import sklearn
    from threadpoolctl import threadpool_limits

    from saebench.toolkit.determinism import fixed_threads

    with fixed_threads(), threadpool_limits(1), sklearn.config_context(assume_finite=True):
        yield
