"""What ``sae_probes`` prepares once per run and hook: the task's binary attributes (its
"datasets"), the captured splits, and every probe's train and test rows in every regime.

Example:
    >>> datasets = plan_datasets(cfg, task, train, test, ood)
    >>> datasets[0].normal.train     # rows of the dataset's own train rows
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from saebench.errors import SaebenchError
from saebench.evaluators.sae_probes import sampling
from saebench.evaluators.sae_probes.config import SaeProbesEvalConfig
from saebench.toolkit.captures import Split


@dataclass
class Dataset:
    """One binary attribute: its rows in each split (indices into the captured split) and
    the rows of each probe, by (regime, setting)."""

    key: str
    positive: str
    train_index: np.ndarray
    test_index: np.ndarray
    ood_index: np.ndarray
    y_ood: np.ndarray
    normal: sampling.Rows
    regimes: dict[tuple[str, str], sampling.Rows] = field(default_factory=dict)


def binary_attributes(cfg: SaeProbesEvalConfig, task) -> list[str]:
    """The attributes probed: those named (each must be binary), else every binary one."""
    values = task.attribute_values()
    if cfg.datasets is None:
        return sorted(a for a, v in values.items() if len(set(v)) == 2)
    for name in cfg.datasets:
        if name not in values:
            raise SaebenchError(
                f"sae_probes: task {task.name!r} has no attribute {name!r} (attributes: "
                f"{', '.join(sorted(values))}); fix datasets"
            )
        if len(set(values[name])) != 2:
            raise SaebenchError(
                f"sae_probes: attribute {name!r} of task {task.name!r} has "
                f"{len(set(values[name]))} values; the probes are binary, name two-valued ones"
            )
    return list(dict.fromkeys(cfg.datasets))


def _rows(split: Split | None, key: str, positive: str) -> tuple[np.ndarray, np.ndarray]:
    if split is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    labels = split.labels[key]
    index = np.array([i for i, v in enumerate(labels) if v is not None], dtype=np.int64)
    y = np.array([labels[i] == positive for i in index], dtype=np.int64)
    return index, y


def plan_datasets(cfg, task, train: Split, test: Split, ood: Split | None):
    """(datasets planned, datasets skipped with the reason)."""
    values = task.attribute_values()
    planned, skipped = [], []
    for key in binary_attributes(cfg, task):
        positive = sorted(set(values[key]))[1]  # the package's LabelEncoder: second value is 1
        tr, y_tr = _rows(train, key, positive)
        te, y_te = _rows(test, key, positive)
        counts = [int(y.sum()) for y in (y_tr, y_te)] + [int((1 - y).sum()) for y in (y_tr, y_te)]
        if min(counts) < cfg.min_examples:
            skipped.append({"dataset": key, "reason": "too_few", "counts": counts})
            continue
        normal = sampling.normal_rows(y_tr, y_te, max_train=cfg.max_train, seed=cfg.seed, key=key)
        od, y_od = _rows(ood, key, positive)
        d = Dataset(key, positive, tr, te, od, y_od, normal)
        d.regimes = _regimes(cfg, d, y_tr)
        planned.append(d)
    return planned, skipped


def _regimes(cfg: SaeProbesEvalConfig, d: Dataset, y_tr: np.ndarray) -> dict:
    grids, seed, out = cfg.grids(), cfg.seed, {}
    if "scarcity" in cfg.regimes:
        for n in grids["n_train"]:
            rows = sampling.scarcity_rows(y_tr, d.normal, n, seed=seed, key=d.key)
            if rows is not None:
                out["scarcity", str(n)] = rows
    if "imbalance" in cfg.regimes:
        for f in grids["fractions"]:
            rows = sampling.imbalance_rows(
                y_tr, d.normal, f, max_train=cfg.max_train, seed=seed, key=d.key
            )
            if rows is not None:
                out["imbalance", f"{f:g}"] = rows
    if "noise" in cfg.regimes:
        for f in grids["noise"]:
            out["noise", f"{f:g}"] = sampling.noise_rows(d.normal, f, seed=seed, key=d.key)
    if "ood" in cfg.regimes and len(np.unique(d.y_ood)) == 2:
        n_ood = len(d.ood_index)
        out["ood", "file"] = sampling.Rows(
            d.normal.train, d.normal.y_train, np.arange(n_ood), d.y_ood
        )
    if cfg.permutation_null:
        out["permuted", "1"] = sampling.permuted_rows(d.normal, seed=seed, key=d.key)
    return out
