"""Fits as a record: metrics, intervals, nulls, sample sizes and details, for an SAE, for the
raw-activation probe (the same families) and for a dense baseline (``dense=True``: one fit per
dataset and regime setting, no k).

Nulls: every AUC 0.5 (chance), every accuracy 0.5 (the normal test rows are balanced); the
label-permutation null (train labels permuted, the whole probe refitted, at ``main_k``) is the
metric ``test_auc_permuted`` and the null ``test_auc_label_permutation``.

Example:
    >>> scored = assemble(cfg, sparse_fits(cfg, prepared, codes), prepared)
    >>> scored.metrics["test_auc"], scored.intervals["test_auc"]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from saebench.evaluators.sae_probes.config import REGIMES
from saebench.evaluators.sae_probes.scoring import Scored
from saebench.records import Interval

SCORES = ("auc", "accuracy", "f1")


@dataclass
class Report:
    metrics: dict[str, float | None] = field(default_factory=dict)
    intervals: dict[str, Interval] = field(default_factory=dict)
    nulls: dict[str, float | None] = field(default_factory=dict)
    sample_sizes: dict[str, int] = field(default_factory=dict)
    details: dict = field(default_factory=dict)


def assemble(cfg, fits: dict, prepared, dense: bool = False) -> Report:
    """The record's parts from ``fits`` (family -> items; see ``run.sparse_fits``)."""
    out = Report()
    ks = cfg.grids()["k"]
    main_k = cfg.main_k if cfg.main_k in ks else max(ks)
    main = "dense" if dense else f"k{main_k}"
    families = {name: Scored(items, cfg.seed) for name, items in fits.items()}
    if not dense:
        for k in ks:
            _family(out, families[f"k{k}"], f"_k{k}", with_scores=k == main_k)
    _family(out, families[main], "", with_scores=True)
    for regime in REGIMES:
        if regime in families:
            name = f"{regime}_auc"
            out.metrics[name] = families[regime].value("auc")
            out.intervals[name] = families[regime].interval("auc")
            out.nulls[name] = 0.5
    if "permuted" in families:
        out.metrics["test_auc_permuted"] = families["permuted"].value("auc")
        out.nulls["test_auc_label_permutation"] = out.metrics["test_auc_permuted"]
    n = len(prepared.datasets)
    out.metrics["n_datasets"], out.metrics["n_datasets_skipped"] = (
        float(n),
        float(len(prepared.skipped)),
    )
    out.sample_sizes = {
        "datasets": n,
        "test_rows": len(families[main].units),
        "train_rows": int(sum(len(d.normal.train) for d in prepared.datasets)),
    }
    out.details = _details(cfg, families, main, prepared, dense)
    return out


def _family(out: Report, scored: Scored, suffix: str, with_scores: bool) -> None:
    for which in SCORES:
        name = f"test_{which}{suffix}"
        out.metrics[name] = scored.value(which)
        if which == "auc" or with_scores:
            out.intervals[name] = scored.interval(which)
        out.nulls[name] = 0.5 if which in ("auc", "accuracy") else None


def _details(cfg, families: dict, main: str, prepared, dense: bool) -> dict:
    per_dataset: dict[str, dict] = {}
    for d in prepared.datasets:
        per_dataset[d.key] = {
            "positive": d.positive,
            "n_train": len(d.normal.train),
            "n_test": len(d.normal.test),
            "n_ood": len(d.ood_index),
        }
    for name, scored in families.items():
        if name in (main, "dense") or name.startswith("k"):
            for which in SCORES:
                for key, value in scored.per_dataset(which).items():
                    per_dataset[key][f"{which}_{name}"] = _round(value)
    for item in families[main].items:
        per_dataset[item.dataset]["chosen"] = item.fit.chosen  # C, PCA width or k neighbours
        if "selected" in item.fit.extra:
            per_dataset[item.dataset]["selected"] = item.fit.extra["selected"]
    regimes = {
        regime: _by_setting(families[regime])
        for regime in (*REGIMES, "permuted")
        if regime in families
    }
    over = families[main].dataset_interval("auc")
    return {
        "datasets": per_dataset,
        "regimes": regimes,
        "skipped": prepared.skipped,
        "main_k": None if dense else int(main[1:]),
        "grids": cfg.grids(),
        "test_auc_interval_over_datasets": over.model_dump(mode="json"),
    }


def _by_setting(scored: Scored) -> dict:
    """Per setting (an n_train, a share), the mean AUC over datasets and each dataset's."""
    out: dict[str, dict] = {}
    for item, value in zip(scored.items, scored.values("auc"), strict=True):
        entry = out.setdefault(item.setting, {"per_dataset": {}})
        entry["per_dataset"][item.dataset] = _round(value)
    for entry in out.values():
        finite = [v for v in entry["per_dataset"].values() if v is not None]
        entry["auc"] = _round(float(np.mean(finite))) if finite else None
    return out


def _round(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)
