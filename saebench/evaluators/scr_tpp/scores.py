"""SAEBench's SCR and TPP formulas on accuracies (numpy arrays: a point estimate has shape
``[1]``, bootstrap replicates ``[R]``), as ``sae_bench/evals/scr_and_tpp/main.py`` 0.6.0
defines them (``get_scr_plotting_dict``, ``create_tpp_plotting_dict``).

Example:
    >>> float(scr_score(np.array([0.9]), np.array([0.6]), np.array([0.75]))[0])
    0.5
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# SAEBench: a denominator (oracle minus biased accuracy) below this scores 0
MIN_DENOMINATOR = 0.001

Acc = Callable[[str, str], np.ndarray]  # (test set, column) -> accuracy


def scr_score(clean: np.ndarray, original: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """``(changed - original) / (clean - original)``, 0 where ``clean - original < 0.001``
    (negative denominators included). ``clean``: the probe trained on the evaluated label,
    on its data; ``original``: the biased probe there; ``changed``: the biased probe after
    the ablation."""
    denominator = clean - original
    small = denominator < MIN_DENOMINATOR
    safe = np.where(small, 1.0, denominator)
    return np.where(small, 0.0, (changed - original) / safe)


def scr_direction(dir1_biased: np.ndarray, dir2_biased: np.ndarray) -> np.ndarray:
    """SAEBench's choice: 1 where the biased probe is less accurate on the target data
    (dir1) than on the spurious data (dir2), 2 where more, 0 (no value) where equal."""
    return np.where(dir1_biased < dir2_biased, 1, np.where(dir1_biased > dir2_biased, 2, 0))


def scr_pair(acc: Acc, sets: dict[str, str], n: int) -> dict[str, np.ndarray]:
    """One pair's ``scr_dir1``, ``scr_dir2`` and ``scr_metric`` at ``n`` (NaN where the
    directions tie: SAEBench then writes no value and the pair drops out of the mean).
    ``sets`` names the pair's test sets: ``target``, ``spurious``, ``biased``."""
    t, s, b = sets["target"], sets["spurious"], sets["biased"]
    dir1_biased = acc(t, f"probe:{b}")
    dir2_biased = acc(s, f"probe:{b}")
    dir1 = scr_score(acc(t, f"probe:{t}"), dir1_biased, acc(t, f"ablate:{s}:{n}:probe:{b}"))
    dir2 = scr_score(acc(s, f"probe:{s}"), dir2_biased, acc(s, f"ablate:{t}:{n}:probe:{b}"))
    pick = scr_direction(dir1_biased, dir2_biased)
    chosen = np.where(pick == 1, dir1, np.where(pick == 2, dir2, np.nan))
    return {"dir1": dir1, "dir2": dir2, "metric": chosen}


def tpp_class(acc: Acc, classes: list[str], i: str, n: int) -> dict[str, np.ndarray]:
    """Class ``i``'s TPP at ``n``: ``intended`` = its probe's accuracy drop when its own top
    latents are ablated, ``unintended`` = the mean drop of the other classes' probes under
    the same ablation, ``total`` = intended - unintended. Each class is scored on its own
    test set (its rows against sampled rows of the other classes)."""

    def drop(j: str) -> np.ndarray:
        return acc(j, "probe:" + j) - acc(j, f"ablate:{i}:{n}:probe:{j}")

    intended = drop(i)
    unintended = np.mean([drop(j) for j in classes if j != i], axis=0)
    return {"intended": intended, "unintended": unintended, "total": intended - unintended}


def scr_metrics(acc: Acc, pairs: list[dict[str, str]], n_values: list[int]) -> dict:
    """SAEBench's SCR metrics: each pair's scores averaged over pairs (a tied pair is left
    out of ``scr_metric_threshold_N``'s mean, as SAEBench's averaging does)."""
    out: dict[str, np.ndarray] = {}
    for n in n_values:
        runs = [scr_pair(acc, sets, n) for sets in pairs]
        for key, name in (("metric", "scr_metric"), ("dir1", "scr_dir1"), ("dir2", "scr_dir2")):
            stacked = np.stack([r[key] for r in runs])
            out[f"{name}_threshold_{n}"] = _nanmean(stacked)
    return out


def _nanmean(stacked: np.ndarray) -> np.ndarray:
    """The mean over axis 0 of the finite values (NaN where there is none)."""
    finite = np.isfinite(stacked)
    total = np.where(finite, stacked, 0.0).sum(axis=0)
    count = finite.sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def tpp_metrics(acc: Acc, datasets: list[list[str]], n_values: list[int]) -> dict:
    """SAEBench's TPP metrics: per dataset the mean over its classes, then the mean over
    datasets."""
    out: dict[str, np.ndarray] = {}
    names = {
        "total": "total_metric",
        "intended": "intended_diff_only",
        "unintended": "unintended_diff_only",
    }
    for n in n_values:
        per_dataset = []
        for classes in datasets:
            runs = [tpp_class(acc, classes, i, n) for i in classes]
            per_dataset.append({k: np.mean([r[k] for r in runs], axis=0) for k in names})
        for key, suffix in names.items():
            out[f"tpp_threshold_{n}_{suffix}"] = np.mean([d[key] for d in per_dataset], axis=0)
    return out
