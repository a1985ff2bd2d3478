"""A method's results as a record's numbers: metrics under RAVEL's names, an interval over
pairs for each estimate, per-seed values and the sample sizes.

Every method (the SAE's mask, each reference) is summarised with the same names, so a
reference's record reads like an SAE's. A metric averages targets within a seed, then the
seeds; its interval is a percentile bootstrap over the scored pairs of every seed and target
(:func:`saebench.toolkit.intervals.bootstrap`), the statistic recomputed from the resampled
pairs exactly as the metric is computed. Each seed draws its own pairs, so the per-seed
values show the spread of pair sampling and training together.

Example:
    >>> metrics, intervals, seeds = summarise(result)
    >>> intervals["disentanglement"].low <= metrics["disentanglement"]
"""

from __future__ import annotations

import numpy as np

from saebench.evaluators.ravel.methods import MethodResult
from saebench.records import Interval
from saebench.toolkit.intervals import bootstrap

# metric name -> (split, score); the entity split is RAVEL's main one
SCORES: dict[str, tuple[str, str]] = {
    "disentanglement": ("entity", "disentanglement"),
    "cause": ("entity", "cause"),
    "isolation": ("entity", "isolation"),
    "disentanglement_context": ("context", "disentanglement"),
    "cause_context": ("context", "cause"),
    "isolation_context": ("context", "isolation"),
    "disentanglement_train": ("train", "disentanglement"),
}
KIND_CODE = {"cause": 0, "isolation": 1}


def outcome_rows(result: MethodResult, split: str) -> np.ndarray:
    """``[n, 2]`` rows (cell, success) of every scored pair of ``split``; a cell is one
    (seed, target, kind), numbered ``2 * group + kind`` with a group per (seed, target)."""
    rows = []
    for s, run in enumerate(result.runs):
        for t, target in enumerate(sorted(run.outcomes)):
            group = s * len(run.outcomes) + t
            for kind, ok in run.outcomes[target].get(split, []):
                rows.append((2 * group + KIND_CODE[kind], float(ok)))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def statistic(score: str, cells: int):
    """The metric recomputed from rows: per group the cause and isolation fractions, then
    the mean over groups that have both kinds (NaN when none has)."""

    def compute(rows: np.ndarray) -> float:
        cell = rows[:, 0].astype(np.int64)
        n = np.bincount(cell, minlength=cells).reshape(-1, 2)
        hits = np.bincount(cell, weights=rows[:, 1], minlength=cells).reshape(-1, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            cause, isolation = (hits / n).T
        value = {"cause": cause, "isolation": isolation}.get(score, (cause + isolation) / 2)
        value = value[np.isfinite(value)]
        return float(value.mean()) if value.size else float("nan")

    return compute


def per_seed_value(result: MethodResult, split: str, score: str) -> list[float | None]:
    out = []
    for run in result.runs:
        values = [s[split][score] for s in run.scores.values() if s[split][score] is not None]
        out.append(sum(values) / len(values) if values else None)
    return out


def summarise(
    result: MethodResult, names: dict[str, tuple[str, str]] = SCORES, seed: int = 0
) -> tuple[dict[str, float | None], dict[str, Interval], dict[str, list]]:
    """``(metrics, intervals, seeds)`` of one method under ``names``."""
    metrics, intervals, seeds = {}, {}, {}
    for name, (split, score) in names.items():
        values = per_seed_value(result, split, score)
        known = [v for v in values if v is not None]
        metrics[name] = sum(known) / len(known) if known else None
        rows = outcome_rows(result, split)
        cells = 2 * sum(len(run.outcomes) for run in result.runs)
        intervals[name] = bootstrap(rows, statistic(score, cells), unit="pairs", seed=seed)
        if len(result.runs) > 1:
            seeds[name] = values
    counts = [c for per_seed in result.selected.values() for c in per_seed]
    metrics["selected_latents"] = sum(counts) / len(counts) if counts else None
    return metrics, intervals, seeds


def sample_sizes(result: MethodResult, data_counts: dict[str, int]) -> dict[str, int]:
    """Pairs per split and kind scored (over targets and seeds), and the pairs trained on."""
    sizes = {"seeds": len(result.runs), "pairs_train": data_counts.get("train", 0)}
    sizes["pairs_val"] = data_counts.get("val", 0)
    for split in ("entity", "context", "train"):
        rows = outcome_rows(result, split)
        name = "train_scored" if split == "train" else split
        for kind, code in KIND_CODE.items():
            sizes[f"pairs_{name}_{kind}"] = int((rows[:, 0] % 2 == code).sum())
    return sizes
