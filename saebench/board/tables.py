"""Records -> the leaderboard's tables: one section per (model, hook), one row per SAE, the
main metric of every evaluator with its direction, the best value per column marked, and the
reference methods evaluators measure beside each SAE as rows of their own.

Which metric is an evaluator's main one, which way is better and which references it has all
come from the records' own ``evaluator`` block, never from a list here.

Example:
    >>> board = board_tables(load_records("results/"))
    >>> print(markdown_tables(board))
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.leaderboard import directions, newest_per_key, records_frame
from saebench.records import EvalRecord

SAE, REFERENCE = "sae", "reference"
_ROW_IDENTITY = ["sae", "kind", "architecture", "d_sae", "variant"]


@dataclass(frozen=True)
class Column:
    """One evaluator's main metric: its frame column and which way is better (None: neither)."""

    evaluator: str
    metric: str
    higher: bool | None

    @property
    def name(self) -> str:
        return f"{self.evaluator}.{self.metric}"

    @property
    def arrow(self) -> str:
        return {True: "↑", False: "↓", None: ""}[self.higher]


@dataclass(frozen=True)
class Section:
    """The rows of one model and hook (SAEs first, best first; then references)."""

    model: str
    hook: str
    frame: pd.DataFrame

    def best(self, column: Column) -> float | None:
        """The best SAE value of a column with a direction; references do not compete."""
        if column.higher is None or column.name not in self.frame:
            return None
        values = self.frame.loc[self.frame["kind"] == SAE, column.name].dropna()
        if values.empty:
            return None
        return float(values.max() if column.higher else values.min())


@dataclass(frozen=True)
class Board:
    columns: list[Column]
    sections: list[Section]
    full: pd.DataFrame  # every metric of every row (CSV, plots)
    directions: dict[str, bool | None]  # every metric column: is higher better (None: neither)


def board_tables(records: Iterable[EvalRecord]) -> Board:
    """Group records into the leaderboard's sections (see the module docstring)."""
    records = sorted(newest_per_key(records), key=lambda r: r.key)
    if not records:
        raise SaebenchError("no records to tabulate; run `saebench eval` or `saebench run` first")
    columns = main_columns(records)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaebenchWarning)  # variants: warned once by the caller
        saes = records_frame(records)
    saes.insert(1, "kind", SAE)
    full = pd.concat([saes, reference_rows(records)], ignore_index=True)
    if "variant" in full and not full["variant"].fillna("").astype(bool).any():
        full = full.drop(columns="variant")
    full = full[_ordered_columns(full)]
    for column in [c for c in ("d_sae", "n_tokens", "context_size") if c in full]:
        full[column] = _as_int(full[column])  # reference rows have none: keep ints ints
    sections = [
        Section(model, hook, _sorted_rows(group, columns))
        for (model, hook), group in full.groupby(["model", "hook"], sort=True)
    ]
    full = pd.concat([s.frame for s in sections], ignore_index=True)
    return Board(columns, sections, full, directions(records))


def main_columns(records: list[EvalRecord]) -> list[Column]:
    """Each evaluator's main metric and direction, evaluators in name order (the newest
    record's declaration wins when versions disagree)."""
    found: dict[str, tuple[str, EvalRecord]] = {}
    for record in records:
        stamp = record.provenance.created_at
        if record.evaluator.name not in found or stamp >= found[record.evaluator.name][0]:
            found[record.evaluator.name] = (stamp, record)
    columns = []
    for name in sorted(found):
        info = found[name][1].evaluator
        columns.append(Column(name, info.main_metric, info.higher_is_better.get(info.main_metric)))
    return columns


def reference_rows(records: list[EvalRecord]) -> pd.DataFrame:
    """One row per reference method per (model, hook, evaluator setting), holding the
    evaluator's main-metric column. Every SAE's record of a hook measures the same reference,
    so equal values collapse into one row; differing ones (another setting) stay apart."""
    rows: dict[tuple, dict] = {}
    for record in records:
        info = record.evaluator
        for reference, metric in sorted(info.references.items()):
            value = record.metrics.get(metric)
            if value is None:
                continue
            identity = (record.model.name, record.sae.hook_name, info.name, reference, value)
            rows.setdefault(identity, _reference_row(record, reference, value))
    frame = pd.DataFrame(list(rows.values()))
    if frame.empty:
        return frame
    # a reference measured under several settings: label each row by its setting
    label = frame.groupby(["model", "hook", "sae"])["sae"].transform("size") > 1
    frame.loc[label, "variant"] = frame.loc[label, "config_hash"].map(lambda h: f"config {h}")
    return frame.drop(columns="config_hash")


def _reference_row(record: EvalRecord, reference: str, value: float) -> dict:
    info = record.evaluator
    return {
        "sae": f"{reference} ({info.name} reference)",
        "kind": REFERENCE,
        "hook": record.sae.hook_name,
        "model": record.model.name,
        "config_hash": info.config_hash,
        f"{info.name}.{info.main_metric}": value,
    }


def _as_int(values: pd.Series) -> pd.Series:
    """Integers as nullable ints; a column with ``a/b`` texts (mixed token sets) as it is."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().equals(values.isna()):
        return numeric.astype("Int64")
    return values


def _ordered_columns(frame: pd.DataFrame) -> list[str]:
    identity = ["model", "hook", *_ROW_IDENTITY, "uri", "dataset", "n_tokens", "context_size"]
    first = [c for c in identity if c in frame.columns]
    return first + sorted(c for c in frame.columns if c not in first)


def _sorted_rows(group: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    """SAEs best first by the main metric with a direction that most of them have (ties:
    the first in column order), then by name; then the references by name."""
    directed = [c for c in columns if c.higher is not None and c.name in group]
    counts = [group.loc[group["kind"] == SAE, c.name].notna().sum() for c in directed]
    key = directed[counts.index(max(counts))] if directed else None
    saes = group[group["kind"] == SAE].sort_values(
        ["sae", "variant"] if "variant" in group else "sae"
    )
    if key is not None:
        saes = saes.sort_values(
            key.name, ascending=not key.higher, na_position="last", kind="mergesort"
        )
    references = group[group["kind"] == REFERENCE].sort_values("sae", kind="mergesort")
    return pd.concat([saes, references]).reset_index(drop=True)


# -- rendering ------------------------------------------------------------------------------
def fmt(value) -> str:
    """A cell: 4 significant digits, ``—`` for missing.

    Example:
        >>> fmt(0.987654), fmt(None), fmt(16)
        ('0.9877', '—', '16')
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def display_rows(section: Section, columns: list[Column]) -> tuple[list[str], list[list[str]]]:
    """Header and cell texts of a section (markdown and HTML share them); best marked ``**``."""
    has_variant = (
        "variant" in section.frame and section.frame["variant"].fillna("").astype(bool).any()
    )
    has_reference = (section.frame["kind"] == REFERENCE).any()
    identity = ["sae", *(["kind"] if has_reference else []), "architecture", "d_sae"]
    identity += ["variant"] if has_variant else []
    header = identity + [f"{c.name} {c.arrow}".rstrip() for c in columns]
    rows = []
    for _, row in section.frame.iterrows():
        cells = [fmt(row.get(name)) for name in identity]
        for column in columns:
            value = row.get(column.name)
            text = fmt(value)
            best = section.best(column)
            if row["kind"] == SAE and best is not None and value == best:
                text = f"**{text}**"
            cells.append(text)
        rows.append(cells)
    return header, rows


def markdown_tables(board: Board) -> str:
    """Every section as a GitHub markdown table under a ``### model · hook`` heading."""
    parts = []
    for section in board.sections:
        header, rows = display_rows(section, board.columns)
        lines = [f"### {section.model} · `{section.hook}`", ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("| " + " | ".join("---" for _ in header) + " |")
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def csv_text(board: Board) -> str:
    """Every row and every metric (not only the main ones), full precision."""
    return board.full.to_csv(index=False, lineterminator="\n")
