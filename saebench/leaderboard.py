"""Records -> one DataFrame -> tables (markdown, CSV, HTML). Never edited by hand.

Each row is one SAE on one model; each column ``evaluator.metric``. When an SAE has records
of one evaluator under several settings (another config, token count or dataset), they are
never merged: each setting gets its own row, labelled in the ``variant`` column, and a
warning says so. The headline columns are the ones each evaluator declares. The table is
sorted by a main metric in its better direction. Nothing here imports torch.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable

import pandas as pd

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.records import EvalRecord

_IDENTITY = ["sae", "architecture", "hook", "d_sae", "model", "dataset", "n_tokens"]


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
    }
    for record in chosen:
        for metric, value in record.metrics.items():
            row[f"{record.evaluator.name}.{metric}"] = value
    return row


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


def main_columns(records: list[EvalRecord]) -> list[str]:
    """Each evaluator's headline metrics, as it declared them when the record was made."""
    columns: list[str] = []
    for record in records:
        info = record.evaluator
        wanted = info.headline or [info.main_metric]
        columns += [f"{info.name}.{m}" for m in wanted if f"{info.name}.{m}" not in columns]
    return columns


def leaderboard(
    records: list[EvalRecord], sort_by: str | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """The leaderboard frame: identity columns, headline metrics, sorted best first.

    Example:
        >>> frame = leaderboard(load_records("results/"), sort_by="reconstruction.ce_loss_score")
    """
    if not records:
        raise SaebenchError("no records to tabulate; run `saebench eval` first")
    frame = records_frame(records)
    wanted = columns or main_columns(records)
    present = [c for c in wanted if c in frame.columns]
    identity = [c for c in _IDENTITY if c in frame.columns]
    frame = frame[identity + (["variant"] if "variant" in frame else []) + present]
    sort_by = sort_by or _default_sort(records, present)
    if sort_by:
        if sort_by not in frame.columns:
            raise SaebenchError(
                f"cannot sort by {sort_by!r}; columns are {', '.join(frame.columns)}"
            )
        higher = directions(records).get(sort_by)
        frame = frame.sort_values(sort_by, ascending=higher is False, na_position="last")
    return frame.reset_index(drop=True)


def _default_sort(records: list[EvalRecord], present: list[str]) -> str | None:
    for record in records:
        column = f"{record.evaluator.name}.{record.evaluator.main_metric}"
        if (
            column in present
            and record.evaluator.higher_is_better.get(record.evaluator.main_metric) is not None
        ):
            return column
    return None


def render(frame: pd.DataFrame, fmt: str = "markdown") -> str:
    """Text of a table: ``markdown`` (terminal and docs), ``csv`` or ``html``."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "html":
        return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}")
    if fmt != "markdown":
        raise SaebenchError(f"unknown table format {fmt!r}; use markdown, csv or html")
    from tabulate import tabulate

    return tabulate(frame, headers="keys", tablefmt="github", showindex=False, floatfmt=".4g")
