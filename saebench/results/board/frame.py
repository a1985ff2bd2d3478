"""Records -> one DataFrame: each row one SAE (or reference method, or control) on one
model; each column ``evaluator.metric``, with ``metric_low``/``metric_high`` for its interval,
``metric_null`` for its null and ``evaluator.n_UNIT`` for its sample sizes. When an SAE has
records of one evaluator under several settings (another config, token count or dataset),
they are never merged: each setting gets its own row, labelled in the ``variant`` column, and
a warning says so. The tables (:mod:`saebench.results.board.tables`) are built on this frame; the
views of them every command prints are in :mod:`saebench.results.leaderboard`. Nothing here imports
torch.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable

import pandas as pd

from saebench.errors import SaebenchWarning
from saebench.records import EvalRecord


def records_frame(records: Iterable[EvalRecord]) -> pd.DataFrame:
    """Wide frame: one row per (SAE, model, variant), a column per evaluator metric, plus the
    SAE's URI, hook, model, dataset and token counts.

    Example:
        >>> frame = records_frame(load_records("results/"))
        >>> frame[["sae", "reconstruction.ce_loss_score"]]
    """
    rows, split = [], 0
    for group in _by_sae_and_model(newest_per_key(records)).values():
        variants = _variants(group)
        split += len(variants) > 1
        for chosen in variants:
            rows.append(_row(chosen, _label(chosen, group) if len(variants) > 1 else ""))
    if split:
        warnings.warn(
            f"{split} SAE(s) have records under several settings; each setting is its own row "
            "(see the variant column)",
            SaebenchWarning,
            stacklevel=2,
        )
    frame = pd.DataFrame(rows)
    if "variant" in frame and not frame["variant"].astype(bool).any():
        frame = frame.drop(columns="variant")
    return frame


def newest_per_key(records: Iterable[EvalRecord]) -> list[EvalRecord]:
    """Copies of one record (same key) count once: the newest.

    Example:
        >>> len(newest_per_key(records + copies)) == len(records)
        True
    """
    newest: dict[str, EvalRecord] = {}
    for record in records:
        old = newest.get(record.key)
        if old is None or record.provenance.created_at >= old.provenance.created_at:
            newest[record.key] = record
    return list(newest.values())


def _by_sae_and_model(records: list[EvalRecord]) -> dict[tuple, list[EvalRecord]]:
    groups: dict[tuple, list[EvalRecord]] = {}
    for record in records:
        identity = (
            record.sae.uri,
            record.sae.weights_hash,
            record.model.name,
            record.model.weights_hash,
        )
        groups.setdefault(identity, []).append(record)
    return groups


def _variants(group: list[EvalRecord]) -> list[tuple[EvalRecord, ...]]:
    """One tuple of records (one per evaluator) per combination of their settings."""
    per_evaluator: dict[str, list[EvalRecord]] = {}
    for record in sorted(group, key=lambda r: r.key):
        per_evaluator.setdefault(record.evaluator.name, []).append(record)
    return list(itertools.product(*per_evaluator.values()))


def _label(chosen: tuple[EvalRecord, ...], group: list[EvalRecord]) -> str:
    """What sets this row's records apart from the SAE's other records of each evaluator."""
    parts = []
    for record in chosen:
        others = [r for r in group if r.evaluator.name == record.evaluator.name]
        if len(others) < 2:
            continue
        own = _settings(record)
        differing = {k: v for k, v in own.items() if any(_settings(o).get(k) != v for o in others)}
        text = ", ".join(f"{k}={v}" for k, v in sorted(differing.items()))
        parts.append(f"{record.evaluator.name}: {text}")
    return "; ".join(parts)


def _settings(record: EvalRecord) -> dict:
    found = dict(record.evaluator.config)
    found["version"] = record.evaluator.version
    if record.dataset is not None:
        found.update(
            dataset=record.dataset.name,
            n_tokens=record.dataset.n_tokens,
            context_size=record.dataset.context_size,
        )
    if record.task is not None:
        found["task"] = f"{record.task.name}@{record.task.version}"
    return found


def _row(chosen: tuple[EvalRecord, ...], variant: str) -> dict:
    first = chosen[0]
    streamed = [r.dataset for r in chosen if r.dataset is not None]
    row = {
        "sae": first.sae.name,
        "uri": first.sae.uri,
        "architecture": first.sae.architecture,
        "hook": first.sae.hook_name,
        "d_sae": first.sae.d_sae,
        "model": first.model.name,
        "dataset": _joined({d.name for d in streamed}),
        "n_tokens": _joined({d.n_tokens for d in streamed}),
        "context_size": _joined({d.context_size for d in streamed}),
        "variant": variant,
        "kind": first.sae.role,
        "of": first.sae.of,
    }
    for record in chosen:
        row.update(_metric_cells(record))
    return row


def _metric_cells(record: EvalRecord) -> dict[str, float | int | None]:
    """A record's metrics, their intervals and nulls, and its sample sizes, as columns."""
    name = record.evaluator.name
    cells: dict[str, float | int | None] = {}
    for metric, value in record.metrics.items():
        cells[f"{name}.{metric}"] = value
    for metric, interval in sorted(record.intervals.items()):
        cells[f"{name}.{metric}_low"] = interval.low
        cells[f"{name}.{metric}_high"] = interval.high
    for metric, value in sorted(record.nulls.items()):
        cells[f"{name}.{metric}_null"] = value
    for unit, n in sorted(record.sample_sizes.items()):
        cells[f"{name}.n_{unit}"] = n
    return cells


def _joined(values: set):
    """One value as itself, several as ``a/b`` (an SAE's evaluators saw different tokens)."""
    if len(values) == 1:
        return next(iter(values))
    return "/".join(str(v) for v in sorted(values)) or None


def directions(records: Iterable[EvalRecord]) -> dict[str, bool | None]:
    out = {}
    for record in records:
        for metric, higher in record.evaluator.higher_is_better.items():
            out[f"{record.evaluator.name}.{metric}"] = higher
    return out
