"""Records -> one DataFrame -> tables (markdown, CSV, HTML). Never edited by hand.

Each row is one SAE (by weights hash and model); each column ``evaluator.metric``. The
table is sorted by a main metric in its better direction.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from saebench.errors import SaebenchError
from saebench.records import EvalRecord

# Columns shown by default for the built-in evaluators; others show their main metric.
HEADLINE = {
    "reconstruction": ["explained_variance", "ce_loss_score", "kl_div_score", "mse"],
    "sparsity": ["l0", "dead_fraction", "dense_fraction"],
    "mdl": ["description_length_bits_per_token"],
}
_IDENTITY = ["sae", "architecture", "hook", "d_sae"]


def records_frame(records: Iterable[EvalRecord]) -> pd.DataFrame:
    """Wide frame: one row per (SAE, model, dataset), a column per evaluator metric."""
    rows: dict[tuple, dict] = {}
    for record in records:
        key = (record.sae.weights_hash, record.model.get("name"), record.dataset.fingerprint)
        row = rows.setdefault(
            key,
            {
                "sae": record.sae.name,
                "architecture": record.sae.architecture,
                "hook": record.sae.hook_name,
                "d_sae": record.sae.d_sae,
                "model": record.model.get("name"),
            },
        )
        for metric, value in record.metrics.items():
            row[f"{record.evaluator.name}.{metric}"] = value
    return pd.DataFrame(list(rows.values()))


def directions(records: Iterable[EvalRecord]) -> dict[str, bool | None]:
    out = {}
    for record in records:
        for metric, higher in record.evaluator.higher_is_better.items():
            out[f"{record.evaluator.name}.{metric}"] = higher
    return out


def main_columns(records: list[EvalRecord]) -> list[str]:
    columns: list[str] = []
    for record in records:
        name = record.evaluator.name
        wanted = HEADLINE.get(name, [record.evaluator.main_metric])
        columns += [f"{name}.{m}" for m in wanted if f"{name}.{m}" not in columns]
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
    frame = frame[_IDENTITY + present]
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
