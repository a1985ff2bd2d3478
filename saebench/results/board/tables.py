"""Records -> the one table builder: one section per (model, hook); rows from the records'
roles (SAEs ranked, each followed by its controls, then the reference methods); one column
per evaluator's main metric, shown with its interval; ties share a rank; notes under each
table say the config, sample sizes, interval and null every column was made with.

`saebench eval`, `saebench run`, the quickstart's report and `leaderboard build` all use it
(terminal text, markdown, HTML and CSV are renderings of one :class:`Board`). Which metric is
an evaluator's main one and which way is better come from the records' own ``evaluator``
block, never from a list here.

Ranking rule: the SAEs of a section are sorted best first by the ranking column; the best SAE
not yet ranked leads a group with every unranked SAE whose interval overlaps its interval,
and the group shares one rank (competition ranking: a group of two at rank 1 is followed by
rank 3). A value without an interval is its own point ``[v, v]``. The best value of a column
is marked only when its group has one member: a separated best.

Example:
    >>> board = board_tables(load_records("results/"))
    >>> print(terminal_tables(board))
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from saebench.errors import SaebenchError
from saebench.records import EvalRecord
from saebench.results.board.frame import directions, newest_per_key, records_frame
from saebench.results.board.notes import Note, section_notes

SAE, REFERENCE, CONTROL = "sae", "reference", "control"
RANK = "rank"
IDENTITY = ["sae", "architecture", "d_sae", "kind", RANK, "variant", "hook", "model", "uri"]
IDENTITY += ["of", "dataset", "n_tokens", "context_size"]


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
class Cell:
    """One shown value: its interval (None: none), and its marks."""

    value: float | None
    low: float | None = None
    high: float | None = None
    best: bool = False  # the separated best of its column
    near_control: bool = False  # its interval overlaps one of its controls'

    @property
    def text(self) -> str:
        return estimate(self.value, self.low, self.high)

    @property
    def title(self) -> str:
        if self.low is None or self.high is None:
            return ""
        return f"interval [{fmt(self.low)}, {fmt(self.high)}]"


@dataclass(frozen=True)
class Section:
    """The rows of one model and hook, in display order, with their ranks and notes."""

    model: str
    hook: str
    frame: pd.DataFrame  # every metric; a "rank" column ("1", "2=", "" unranked)
    rank_by: Column | None = None
    notes: list[Note] = field(default_factory=list)
    cells: dict[tuple[int, str], Cell] = field(default_factory=dict)  # (row, column name)

    def best(self, column: Column) -> float | None:
        """The separated best SAE value of a column (None: no direction, or a tie)."""
        marked = [c for (_, name), c in self.cells.items() if name == column.name and c.best]
        return marked[0].value if marked else None


@dataclass(frozen=True)
class Board:
    columns: list[Column]
    sections: list[Section]
    full: pd.DataFrame  # every metric of every row (CSV, plots)
    directions: dict[str, bool | None]  # every metric column: is higher better (None: neither)


def board_tables(records: Iterable[EvalRecord], sort_by: str | None = None) -> Board:
    """Group records into the leaderboard's sections (see the module docstring); ``sort_by``
    names the ranking column (default: the main metric with a direction most SAEs have)."""
    records = sorted(newest_per_key(records), key=lambda r: r.key)
    if not records:
        raise SaebenchError("no records to tabulate; run `saebench eval` or `saebench run` first")
    # a panel's record is about a set of SAEs, not a row: the README shows it on its own
    records = [r for r in records if r.sae.role != "panel"] or records
    columns = main_columns(records)
    rows = records_frame(records)  # warns of SAEs with records under several settings
    full = pd.concat([rows, legacy_reference_rows(records)], ignore_index=True)
    if "variant" in full and not full["variant"].fillna("").astype(bool).any():
        full = full.drop(columns="variant")
    full = full[_ordered_columns(full)]
    counts = [c for c in full if c in ("d_sae", "n_tokens", "context_size") or ".n_" in c]
    for name in counts:
        full[name] = _as_int(full[name])  # rows without one: keep ints ints
    known = directions(records)
    sections = []
    for (model, hook), group in full.groupby(["model", "hook"], sort=True):
        mine = [r for r in records if (r.model.name, r.sae.hook_name) == (model, hook)]
        sections.append(_section(model, hook, group, columns, known, sort_by, mine))
    full = pd.concat([s.frame for s in sections], ignore_index=True)
    if "of" in full and full["of"].isna().all():
        full = full.drop(columns="of")
    return Board(columns, sections, full[_ordered_columns(full)], known)


def main_columns(records: list[EvalRecord]) -> list[Column]:
    """Each evaluator's main metric and direction, evaluators in name order (the newest
    record's declaration wins when versions disagree). An evaluator with no number in any
    record (skipped for every SAE: a model that does not know first letters, say) gets no
    column; the notes under the table give its reason."""
    scored = {r.evaluator.name for r in records if r.main_value is not None}
    found: dict[str, tuple[str, EvalRecord]] = {}
    for record in records:
        if record.evaluator.name not in scored:
            continue
        stamp = record.provenance.created_at
        if record.evaluator.name not in found or stamp >= found[record.evaluator.name][0]:
            found[record.evaluator.name] = (stamp, record)
    columns = []
    for name in sorted(found):
        info = found[name][1].evaluator
        columns.append(Column(name, info.main_metric, info.higher_is_better.get(info.main_metric)))
    return columns


def legacy_reference_rows(records: list[EvalRecord]) -> pd.DataFrame:
    """Reference rows of records older than schema 3, which held a reference's value in a
    metric named by ``evaluator.references`` (``disentanglement_das``). Newer records put each
    reference in a record of its own (role ``reference``), a row like any other.

    One row per reference per (model, hook, evaluator setting): every SAE's record of a hook
    measured the same reference, so equal values collapse; differing ones stay apart."""
    rows: dict[tuple, dict] = {}
    for record in records:
        info = record.evaluator
        if record.schema_version >= 3:
            continue
        for reference, metric in sorted(info.references.items()):
            value = record.metrics.get(metric)
            if value is None:
                continue
            identity = (record.model.name, record.sae.hook_name, info.name, reference, value)
            rows.setdefault(identity, _legacy_row(record, reference, value))
    frame = pd.DataFrame(list(rows.values()))
    if frame.empty:
        return frame
    # a reference measured under several settings: label each row by its setting
    label = frame.groupby(["model", "hook", "sae"])["sae"].transform("size") > 1
    frame.loc[label, "variant"] = frame.loc[label, "config_hash"].map(lambda h: f"config {h}")
    return frame.drop(columns="config_hash")


def _legacy_row(record: EvalRecord, reference: str, value: float) -> dict:
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
    first = [c for c in IDENTITY if c in frame.columns]
    return first + sorted(c for c in frame.columns if c not in first)


# -- one section: order, ranks, marks ---------------------------------------------------------
def _section(model, hook, group, columns, known, sort_by, records) -> Section:
    group = group.copy()
    group["sae"] = [_display_name(row) for _, row in group.iterrows()]
    rank_by = _rank_column(group, columns, known, sort_by)
    ranks = _ranks(group, rank_by) if rank_by is not None else {}
    frame = _ordered_rows(group, ranks, rank_by)
    frame.insert(0, RANK, [_rank_text(ranks.get(i)) for i in frame["_row"]])
    frame = frame.drop(columns="_row").reset_index(drop=True)
    cells = _cells(frame, columns)
    notes = section_notes(records, columns)
    return Section(model, hook, frame, rank_by, notes, cells)


def _display_name(row: pd.Series) -> str:
    """A reference record's row reads ``das (ravel reference)``; others keep their name."""
    if row.get("kind") == REFERENCE and str(row.get("uri", "")).startswith("reference:"):
        evaluator = str(row["uri"]).removeprefix("reference:").split("/", 1)[0]
        return f"{row['sae']} ({evaluator} reference)"
    return row["sae"]


def _rank_column(group, columns, known, sort_by) -> Column | None:
    saes = group[group["kind"] == SAE]
    if sort_by is not None:
        if sort_by not in group:
            names = ", ".join(c for c in group.columns if "." in c)
            raise SaebenchError(f"cannot sort by {sort_by!r}; columns are {names}")
        evaluator, _, metric = sort_by.partition(".")
        return Column(evaluator, metric, known.get(sort_by))
    directed = [c for c in columns if c.higher is not None and c.name in saes]
    counts = [saes[c.name].notna().sum() for c in directed]
    if not directed or max(counts) == 0:
        return None
    return directed[counts.index(max(counts))]


def _interval(row: pd.Series, name: str) -> tuple[float, float]:
    value = float(row[name])
    low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
    if not _number(low) or not _number(high):
        return value, value
    return min(float(low), value), max(float(high), value)


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def tie_groups(items: list[tuple[int, float, tuple[float, float]]], higher: bool | None):
    """``{row: (rank, tied)}`` by the ranking rule of the module docstring, for items
    ``(row, value, (low, high))``; with no direction, lower values rank first."""
    ordered = sorted(items, key=lambda t: -t[1] if higher else t[1])
    ranks, done = {}, 0
    while ordered:
        leader = ordered[0]
        group = [t for t in ordered if overlaps(t[2], leader[2])]
        for item in group:
            ranks[item[0]] = (done + 1, len(group) > 1)
        done += len(group)
        ordered = [t for t in ordered if t not in group]
    return ranks


def _ranks(group: pd.DataFrame, column: Column) -> dict[int, tuple[int, bool]]:
    if column.name not in group:
        return {}
    saes = group[(group["kind"] == SAE) & group[column.name].notna()]
    items = [
        (i, float(row[column.name]), _interval(row, column.name)) for i, row in saes.iterrows()
    ]
    return tie_groups(items, column.higher is not False)


def _rank_text(rank: tuple[int, bool] | None) -> str:
    if rank is None:
        return ""
    return f"{rank[0]}=" if rank[1] else str(rank[0])


def _ordered_rows(group, ranks, column) -> pd.DataFrame:
    """Ranked SAEs (by rank, then better value, then name), unranked SAEs by name, each SAE
    followed by its controls; then controls whose SAE is not here; then references."""
    by_name = ["sae", "variant"] if "variant" in group else ["sae"]
    group = group.sort_values(by_name, kind="mergesort")
    kind = group["kind"]
    sign = -1 if column is not None and column.higher is not False else 1

    def sae_key(i):
        if i not in ranks:
            return (math.inf, 0.0)
        return (ranks[i][0], sign * float(group.at[i, column.name]))

    saes = sorted(group.index[kind == SAE], key=sae_key)
    controls = list(group.index[kind == CONTROL])
    order = []
    for i in saes:  # after the SAE's first row (an SAE has several rows under variants)
        mine = [c for c in controls if group.at[c, "of"] == group.at[i, "uri"] and c not in order]
        order += [i, *mine]
    order += [c for c in controls if c not in order]
    order += list(group.index[kind == REFERENCE])
    return group.loc[order].assign(_row=order)


def _cells(frame: pd.DataFrame, columns: list[Column]) -> dict[tuple[int, str], Cell]:
    cells = {}
    for column in columns:
        if column.name not in frame:
            continue
        best = _separated_best(frame, column)
        for i, row in frame.iterrows():
            value = row.get(column.name)
            if not _number(value):
                cells[(i, column.name)] = Cell(None)
                continue
            low, high = (row.get(f"{column.name}_{end}") for end in ("low", "high"))
            cells[(i, column.name)] = Cell(
                float(value),
                float(low) if _number(low) else None,
                float(high) if _number(high) else None,
                best=i == best,
                near_control=_near_control(frame, row, column),
            )
    return cells


def _separated_best(frame: pd.DataFrame, column: Column) -> int | None:
    if column.higher is None:
        return None
    saes = frame[(frame["kind"] == SAE) & frame[column.name].notna()]
    items = [(i, float(r[column.name]), _interval(r, column.name)) for i, r in saes.iterrows()]
    if len(items) < 2:  # nothing to be told apart from
        return None
    ranks = tie_groups(items, column.higher)
    firsts = [i for i, (rank, tied) in ranks.items() if rank == 1 and not tied]
    return firsts[0] if firsts else None


def _near_control(frame: pd.DataFrame, row: pd.Series, column: Column) -> bool:
    """An SAE whose interval overlaps one of its controls' (in a column with a direction)."""
    if row.get("kind") != SAE or column.higher is None or "of" not in frame:
        return False
    controls = frame[(frame["kind"] == CONTROL) & (frame["of"] == row.get("uri"))]
    mine = _interval(row, column.name)
    return any(
        overlaps(mine, _interval(c, column.name))
        for _, c in controls.iterrows()
        if _number(c.get(column.name))
    )


def _number(value) -> bool:
    if value is None or value is pd.NA or isinstance(value, bool | str):
        return False
    try:
        return not math.isnan(float(value))
    except (TypeError, ValueError):
        return False


# -- cell texts -------------------------------------------------------------------------------
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


def estimate(value, low=None, high=None) -> str:
    """A value with its interval, at the interval's precision: ``0.912 ±0.021`` (half the
    width) when the interval is about symmetric, ``0.98 [0.90, 1.00]`` when it is not.

    Example:
        >>> estimate(0.91234, 0.891, 0.933), estimate(0.98, 0.9, 1.0), estimate(3.0)
        ('0.912 ±0.021', '0.98 [0.90, 1.00]', '3')
    """
    if not _number(value):
        return "—"
    if not _number(low) or not _number(high):
        return fmt(float(value))
    half = (high - low) / 2
    if half <= 0:
        return f"{fmt(float(value))} ±0"
    digits = _decimals(half)
    if abs((high - value) - (value - low)) > 0.4 * half:
        return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
    return f"{value:.{digits}f} ±{half:.{digits}f}"


def _decimals(half: float) -> int:
    """Two significant digits of the half-width when it starts with 1 or 2, else one."""
    exponent = math.floor(math.log10(half))
    leading = half / 10**exponent
    return min(max(-exponent + (1 if leading < 3 else 0), 0), 8)
