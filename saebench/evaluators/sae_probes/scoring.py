"""Fits as a record's numbers: means over datasets (of the mean over a regime's settings) and
their bootstrap intervals over test rows.

An interval resamples the test rows of every dataset together
(:func:`saebench.toolkit.intervals.bootstrap`, unit ``test_rows``): a row drawn twice counts
twice, the probes stay fitted, and each resample recomputes every dataset's AUC, accuracy or
weighted F1 from the row weights, then the mean over settings and datasets, like the metric.
The spread over datasets (what a different choice of datasets would move) is a second
interval, over datasets, kept in the details.

Example:
    >>> scored = Scored.of([Scored.Item("glue_cola", units, fit)], seed=42)
    >>> scored.value("auc"), scored.interval("auc")
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saebench.records import Interval
from saebench.toolkit.intervals import bootstrap


def weighted_auc(groups: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """ROC-AUC with row weights ``w`` (ties count half); ``groups`` ranks each row's score
    among the distinct scores (``np.unique(scores, return_inverse=True)[1]``)."""
    size = int(groups.max()) + 1 if len(groups) else 0
    pos = np.bincount(groups, w * y, minlength=size)
    neg = np.bincount(groups, w * (1 - y), minlength=size)
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        return np.nan
    below = np.cumsum(neg) - neg
    return float(np.sum(pos * (below + 0.5 * neg)) / (total_pos * total_neg))


def weighted_f1(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    """F1 of each class averaged with the classes' (weighted) support, as scikit-learn's
    ``average="weighted"``; a class with no true and no predicted rows scores 0."""
    total, out = w.sum(), 0.0
    for c in (0, 1):
        tp = np.sum(w * ((pred == c) & (y == c)))
        fp = np.sum(w * ((pred == c) & (y != c)))
        fn = np.sum(w * ((pred != c) & (y == c)))
        denominator = 2 * tp + fp + fn
        f1 = 2 * tp / denominator if denominator > 0 else 0.0
        out += f1 * np.sum(w * (y == c)) / total if total > 0 else 0.0
    return float(out)


@dataclass(frozen=True)
class Item:
    """One fit of one dataset: ``units[i]`` is the global id of its ``i``-th test row."""

    dataset: str
    units: np.ndarray
    fit: object  # fitting.Fit
    setting: str = "normal"  # a regime's setting (an n_train, a share)


def _score(item: Item, which: str, w: np.ndarray | None, groups: np.ndarray) -> float:
    fit = item.fit
    y = fit.y.astype(np.float64)
    weights = np.ones(len(y)) if w is None else w[item.units]
    if which == "auc":
        return weighted_auc(groups, y, weights)
    if which == "accuracy":
        seen = weights.sum()
        return float(np.sum(weights * (fit.pred == fit.y)) / seen) if seen > 0 else np.nan
    return weighted_f1(fit.y, fit.pred, weights) if weights.sum() > 0 else np.nan


def _mean(values: list[float], datasets: list[str]) -> float | None:
    """Mean over datasets of the mean over each dataset's (finite) values."""
    by: dict[str, list[float]] = {}
    for value, dataset in zip(values, datasets, strict=True):
        if np.isfinite(value):
            by.setdefault(dataset, []).append(value)
    return float(np.mean([np.mean(v) for v in by.values()])) if by else None


class Scored:
    """The items of one metric family (a k, a regime) and what the record needs of them."""

    Item = Item

    def __init__(self, items: list[Item], seed: int) -> None:
        self.items, self.seed = items, seed
        self.datasets = [i.dataset for i in items]
        self._groups = [np.unique(i.fit.proba, return_inverse=True)[1] for i in items]
        used = np.concatenate([i.units for i in items]) if items else np.zeros(0, int)
        self.units = np.unique(used)

    @classmethod
    def of(cls, items: list[Item], seed: int) -> Scored:
        return cls(items, seed)

    def values(self, which: str, w: np.ndarray | None = None) -> list[float]:
        return [_score(i, which, w, g) for i, g in zip(self.items, self._groups, strict=True)]

    def value(self, which: str) -> float | None:
        return _mean(self.values(which), self.datasets) if self.items else None

    def per_dataset(self, which: str) -> dict[str, float]:
        by: dict[str, list[float]] = {}
        for value, dataset in zip(self.values(which), self.datasets, strict=True):
            by.setdefault(dataset, []).append(value)
        return {d: float(np.nanmean(v)) if np.isfinite(v).any() else np.nan for d, v in by.items()}

    def interval(self, which: str) -> Interval:
        """Bootstrap over the test rows these fits were scored on."""
        size = int(self.units.max()) + 1 if len(self.units) else 0

        def statistic(picks: np.ndarray) -> float:
            w = np.bincount(picks.astype(np.int64), minlength=size).astype(np.float64)
            value = _mean(self.values(which, w), self.datasets)
            return np.nan if value is None else value

        return bootstrap(self.units, statistic, unit="test_rows", seed=self.seed)

    def dataset_interval(self, which: str) -> Interval:
        """Bootstrap over datasets (each dataset's mean over settings is one unit)."""
        values = [v for v in self.per_dataset(which).values() if np.isfinite(v)]
        return bootstrap(values, unit="datasets", seed=self.seed)
