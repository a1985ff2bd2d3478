"""A set of probe results as a record's numbers: the metrics (overall and per attribute),
their intervals, their nulls and the sample sizes.

Accuracy intervals resample the test split's units (entities where the task has them, else
distinct test rows) with :func:`saebench.toolkit.intervals.bootstrap`: one unit drawn twice
counts twice in every probe it is in, the probes stay fitted, and each resample is averaged
over values then attributes like the metric itself. AUROC gets no interval (a resampled
AUROC per probe costs a sort per probe and resample; the accuracy carries the precision).
The null of an accuracy is the majority-class rate of the test rows (0.5 for the balanced
probes here), of an AUROC 0.5.

Example:
    >>> scored = score(results, plan, units, config)
    >>> scored.metrics["sae_accuracy_k1"], scored.intervals["sae_accuracy_k1"].half_width
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from saebench.records import Interval
from saebench.toolkit.intervals import bootstrap
from saebench.toolkit.probes import majority_rate


@dataclass
class Scored:
    metrics: dict[str, float | None] = field(default_factory=dict)
    intervals: dict[str, Interval] = field(default_factory=dict)
    nulls: dict[str, float | None] = field(default_factory=dict)
    sample_sizes: dict[str, int] = field(default_factory=dict)


def _suffix(width: int | str) -> str:
    return f"k{width}" if width != "full" else "full"


def _mean_of_means(values: np.ndarray, attribute_of: list[str]) -> float | None:
    """Mean over attributes of the mean over each attribute's probes (NaN probes left out)."""
    groups: dict[str, list[float]] = {}
    for value, attribute in zip(values, attribute_of, strict=True):
        if np.isfinite(value):
            groups.setdefault(attribute, []).append(float(value))
    if not groups:
        return None
    return float(np.mean([np.mean(v) for v in groups.values()]))


def score(results: Sequence, plan, units: np.ndarray, unit: str, config) -> Scored:
    """Metrics, intervals, nulls and sample sizes of ``results`` (one per probe of ``plan``;
    ``units[row]`` is the sampling unit of each test row, ``unit`` its name)."""
    out = Scored()
    attributes = sorted({p.attribute for p in plan.probes})
    picked = [units[p.test_rows] for p in plan.probes]
    used = np.unique(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
    remap = {int(u): i for i, u in enumerate(used)}
    widths: list[int | str] = [*config.k, *(["full"] if config.full_width else [])]
    for width in widths:
        suffix = _suffix(width)
        for which in ("accuracy", "auroc"):
            values = np.array([getattr(r, which)[width] for r in results], dtype=float)
            out.metrics[f"sae_{which}_{suffix}"] = _mean_of_means(values, _attrs(plan))
        nulls = np.array([majority_rate(p.test_y) for p in plan.probes], dtype=float)
        out.nulls[f"sae_accuracy_{suffix}"] = _mean_of_means(nulls, _attrs(plan))
        out.nulls[f"sae_auroc_{suffix}"] = 0.5 if plan.probes else None
        matrices = _hit_matrices(results, plan, units, remap, width)
        for attribute in [None, *attributes]:
            name = f"sae_accuracy_{suffix}" + ("" if attribute is None else f"_{attribute}")
            keep = [i for i, p in enumerate(plan.probes) if attribute in (None, p.attribute)]
            if attribute is not None:
                sub = [results[i].accuracy[width] for i in keep]
                out.metrics[name] = _mean_of_means(np.array(sub), [attribute] * len(keep))
                out.nulls[name] = _mean_of_means(nulls[keep], [attribute] * len(keep))
            out.intervals[name] = _accuracy_interval(matrices, keep, _attrs(plan), unit, config)
    out.metrics["n_values_probed"] = float(len(plan.probes))
    out.metrics["n_values_skipped"] = float(len(plan.skipped))
    rows = {int(r) for p in plan.probes for r in p.test_rows}
    out.sample_sizes = {"probes": len(plan.probes), "test_rows": len(rows)}
    if unit == "entities":
        out.sample_sizes["entities"] = len(used)
    return out


def _attrs(plan) -> list[str]:
    return [p.attribute for p in plan.probes]


def _hit_matrices(results, plan, units, remap, width):
    """Sparse ``[probes, units]`` counts of correct and of all test rows per unit."""
    from scipy.sparse import csr_matrix

    rows, cols, hits = [], [], []
    for i, (probe, result) in enumerate(zip(plan.probes, results, strict=True)):
        rows.append(np.full(len(probe.test_rows), i))
        cols.append(np.array([remap[int(u)] for u in units[probe.test_rows]]))
        hits.append(result.fits[width].correct.astype(float))
    shape = (len(plan.probes), len(remap))
    if not rows:
        return None
    r, c = np.concatenate(rows), np.concatenate(cols)
    correct = csr_matrix((np.concatenate(hits), (r, c)), shape=shape)
    total = csr_matrix((np.ones(len(r)), (r, c)), shape=shape)
    return correct, total


def _accuracy_interval(matrices, keep: list[int], attrs: list[str], unit: str, config) -> Interval:
    if matrices is None or not keep:
        return bootstrap([], unit=unit, seed=config.seed)
    correct, total = matrices[0][keep], matrices[1][keep]
    # resample only the units these probes tested, so n counts what the estimate rests on
    tested = np.flatnonzero(np.asarray(total.sum(axis=0)).ravel())
    correct, total = correct[:, tested], total[:, tested]
    _, group = np.unique([attrs[i] for i in keep], return_inverse=True)
    n_groups = int(group.max()) + 1

    def statistic(picks: np.ndarray) -> float:
        # the metric of one resample: mean over attributes of the mean over their probes
        weights = np.bincount(picks.astype(np.int64), minlength=correct.shape[1])
        hits, seen = correct @ weights, total @ weights
        ok = seen > 0
        accuracy = np.divide(hits, seen, out=np.zeros_like(hits, dtype=float), where=ok)
        sums = np.bincount(group, accuracy * ok, minlength=n_groups)
        counts = np.bincount(group, ok.astype(float), minlength=n_groups)
        present = counts > 0
        return float(np.mean(sums[present] / counts[present])) if present.any() else np.nan

    return bootstrap(np.arange(correct.shape[1]), statistic, unit=unit, seed=config.seed)
