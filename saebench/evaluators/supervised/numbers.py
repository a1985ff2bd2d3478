"""A dictionary's scores as a record's numbers: metrics, intervals over each metric's own
sampling unit, nulls and sample sizes.

Units: edit accuracies and magnitudes resample the scored **pairs** (the normalised
accuracy pairs the dictionary's hit with the supervised edit's on the same pair);
sufficiency and necessity resample the held-out **prompts** (a ratio of means, recomputed);
``mean_best_f1`` and ``fraction_values_covered`` resample the scored attribute **values**.
Nulls: an edit of a kept pair that changes nothing scores 0 (pairs are kept only where the
patched answer differs from the clean one), as do sufficiency and necessity at mean
ablation; the interpretability null is the same latents scored against permuted labels.

Example:
    >>> numbers = dictionary_numbers(study, score_sae(study, sae, config), supervised, config)
    >>> numbers["intervals"]["edit_accuracy_aware"].half_width
"""

from __future__ import annotations

import numpy as np

from saebench.evaluators.supervised.study import Study
from saebench.toolkit.intervals import bootstrap


def _ratio(rows: np.ndarray, top: int, kept: bool) -> float:
    """Sufficiency (``kept``) or necessity of resampled prompts: columns are the metric
    with the reconstruction (0) or without it (1), clean (2) and mean-ablated (3)."""
    span = rows[:, 2].mean() - rows[:, 3].mean()
    if abs(span) < 1e-9:
        return np.nan
    fraction = (rows[:, top].mean() - rows[:, 3].mean()) / span
    return fraction if kept else 1.0 - fraction


def _approximation_intervals(rows: np.ndarray, seed: int) -> dict:
    return {
        "sufficiency": bootstrap(rows, lambda r: _ratio(r, 0, True), unit="prompts", seed=seed),
        "necessity": bootstrap(rows, lambda r: _ratio(r, 1, False), unit="prompts", seed=seed),
    }


def _normalised(hits: np.ndarray, reference: np.ndarray, seed: int):
    """``mean(hits) / mean(reference)`` over the same pairs, and its paired interval."""
    if not len(hits) or reference.mean() == 0:
        return None, bootstrap([], unit="pairs", seed=seed)
    paired = np.stack([hits, reference], 1)

    def statistic(rows: np.ndarray) -> float:
        below = rows[:, 1].mean()
        return rows[:, 0].mean() / below if below > 0 else np.nan

    return float(statistic(paired)), bootstrap(paired, statistic, unit="pairs", seed=seed)


def _common(study: Study) -> dict:
    return {
        "logit_diff_clean": study.ld_clean,
        "logit_diff_mean_ablated": study.ld_mean,
        "eval_prompts": len(study.eval),
        "edit_pairs": sum(len(p.rows) for p in study.pairs.values()),
    }


def _sample_sizes(study: Study, values: int | None = None) -> dict[str, int]:
    sizes = {
        "pairs": sum(len(p.rows) for p in study.pairs.values()),
        "prompts": len(study.eval),
        "train_prompts": len(study.train),
    }
    if values is not None:
        sizes["values"] = values
    return sizes


def dictionary_numbers(study: Study, scored: dict, supervised: dict, config) -> dict:
    """Metrics, intervals, nulls and sample sizes of an SAE-like dictionary's scores."""
    seed, m = config.seed, scored["metrics"]
    metrics = {k: m[k] for k in _SAE_KEYS}
    intervals = _approximation_intervals(m["rows"], seed)
    for prefix in ("aware", "agnostic"):
        hits, magnitude = scored["pairs"][prefix]
        intervals[f"edit_accuracy_{prefix}"] = bootstrap(hits, unit="pairs", seed=seed)
        intervals[f"edit_magnitude_{prefix}"] = bootstrap(magnitude, unit="pairs", seed=seed)
    value, interval = _normalised(scored["pairs"]["aware"][0], supervised["pairs"][0], seed)
    metrics["edit_accuracy_aware_normalised"] = value
    intervals["edit_accuracy_aware_normalised"] = interval
    best = np.array(list(scored["best_f1"].values()), dtype=float)
    intervals["mean_best_f1"] = bootstrap(best, unit="values", seed=seed)
    covered = (best >= config.f1_threshold).astype(float)
    intervals["fraction_values_covered"] = bootstrap(covered, unit="values", seed=seed)
    nulls = {
        "edit_accuracy_aware": 0.0,
        "edit_accuracy_agnostic": 0.0,
        "edit_accuracy_aware_normalised": 0.0,
        "sufficiency": 0.0,
        "necessity": 0.0,
        **scored["null"],
    }
    return {
        "metrics": {**metrics, **_common(study)},
        "intervals": intervals,
        "nulls": nulls,
        "sample_sizes": _sample_sizes(study, len(best)),
    }


_SAE_KEYS = (
    "edit_accuracy_aware",
    "edit_accuracy_agnostic",
    "edit_magnitude_aware",
    "edit_magnitude_agnostic",
    "edit_size_aware",
    "edit_size_agnostic",
    "sufficiency",
    "necessity",
    "mean_best_f1",
    "fraction_values_covered",
    "occluded_values",
    "oversplit_values",
)


def supervised_numbers(study: Study, supervised: dict, config) -> dict:
    """The supervised dictionary's numbers under the same names: its edit (of its own
    codes) is the aware edit; it has no interpretability scores (its codes are the labels)."""
    seed, m = config.seed, supervised["metrics"]
    hits, removed = supervised["pairs"]
    intervals = _approximation_intervals(m["rows"], seed)
    intervals["edit_accuracy_aware"] = bootstrap(hits, unit="pairs", seed=seed)
    intervals["edit_magnitude_aware"] = bootstrap(removed, unit="pairs", seed=seed)
    metrics = {
        "edit_accuracy_aware": m["edit_accuracy"],
        "edit_magnitude_aware": m["edit_magnitude"],
        "edit_accuracy_aware_normalised": 1.0 if m["edit_accuracy"] else None,
        "sufficiency": m["sufficiency"],
        "necessity": m["necessity"],
        **_common(study),
    }
    return {"metrics": metrics, "intervals": intervals, "sample_sizes": _sample_sizes(study)}
