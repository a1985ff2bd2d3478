"""The lines under a table: what each column was made with (evaluator version and config,
sample sizes, how its interval was made) and what to read it against (the evaluator's null).

Example:
    >>> [note.line() for note in section_notes(records, columns)]
    ['ravel.disentanglement ↑ · v1, config b4464a02 · 32 pairs · ±: 95% bootstrap over pairs']
"""

from __future__ import annotations

from dataclasses import dataclass

from saebench.records import EvalRecord


@dataclass(frozen=True)
class Note:
    """One evaluator setting seen in a section."""

    column: str  # evaluator.metric, with its arrow
    version: str
    config_hash: str
    config: dict
    sizes: str  # "32 pairs, 16 entities"; ranges when records differ
    interval: str  # "95% bootstrap over pairs"; "" when no record has one
    null: str  # the main metric's null ("0.5", "0.48–0.52"); "" when none
    partial: int  # records whose work partly failed
    variant: str = ""  # an evaluator's own name for a departure from its method (details)
    skipped: str = ""  # when every record is skipped: how many, and the first one's reason

    def line(self) -> str:
        parts = [self.column, f"v{self.version}, config {self.config_hash[:8]}"]
        parts += [self.variant] if self.variant else []
        parts += [self.sizes] if self.sizes else []
        parts += [f"±: {self.interval}"] if self.interval else ["no interval"]
        parts += [f"null {self.null}"] if self.null else []
        if self.partial:
            parts.append(f"{self.partial} partial record(s): part of their work failed")
        parts += [self.skipped] if self.skipped else []
        return " · ".join(parts)

    def config_text(self) -> str:
        return ", ".join(f"{k}={_short(v)}" for k, v in sorted(self.config.items()))


def section_notes(records: list[EvalRecord], columns) -> list[Note]:
    """One note per (evaluator, version, config) among a section's records, in column order."""
    arrows = {c.evaluator: f"{c.name} {c.arrow}".rstrip() for c in columns}
    groups: dict[tuple, list[EvalRecord]] = {}
    for record in records:
        info = record.evaluator
        groups.setdefault((info.name, info.version, info.config_hash), []).append(record)
    notes = []
    for (name, version, config_hash), group in sorted(groups.items()):
        main = group[0].evaluator.main_metric
        notes.append(
            Note(
                column=arrows.get(name, f"{name}.{main}"),
                version=version,
                config_hash=config_hash,
                config=group[0].evaluator.config,
                sizes=_sizes(group),
                interval=_interval_text(group, main),
                null=_null_text(group, main),
                partial=sum(r.status == "partial" for r in group),
                variant=_variant(group),
                skipped=_skipped(group),
            )
        )
    return notes


def _skipped(group: list[EvalRecord]) -> str:
    """ "every record skipped (N): REASON" when no record of the group has a number."""
    reasons = [str(r.details.get("status", "")) for r in group]
    if not all(reason.startswith("skipped") for reason in reasons):
        return ""
    return f"every record skipped ({len(group)}): {reasons[0].removeprefix('skipped: ')}"


def _variant(group: list[EvalRecord]) -> str:
    """What the records call their variant when it is not the method itself (RAVEL at a
    position other than RAVEL's, say), so a table never passes it off as the method."""
    names = {str(r.details.get("variant")) for r in group if r.details.get("variant")}
    names.discard(group[0].evaluator.name)
    return ", ".join(sorted(names))


def _sizes(group: list[EvalRecord]) -> str:
    units: dict[str, list[int]] = {}
    for record in group:
        for unit, n in record.sample_sizes.items():
            units.setdefault(unit, []).append(n)
    if units:
        return ", ".join(f"{_span(ns)} {unit}" for unit, ns in sorted(units.items()))
    first = group[0]  # records older than schema 3 carry no sample sizes
    if first.dataset is not None:
        tokens = _span([r.dataset.n_tokens for r in group if r.dataset is not None])
        return f"{tokens} tokens in {first.dataset.context_size}-token contexts"
    if first.task is not None:
        return f"task {first.task.name} v{first.task.version}"
    return ""


def _interval_text(group: list[EvalRecord], metric: str) -> str:
    kinds = sorted(
        {
            f"{i.level:.0%} {i.method.replace('_', ' ')} over {i.unit}"
            for r in group
            if (i := r.intervals.get(metric)) is not None
        }
    )
    return "; ".join(kinds)


def _null_text(group: list[EvalRecord], metric: str) -> str:
    values = [v for r in group if (v := r.nulls.get(metric)) is not None]
    if not values:
        return ""
    low, high = min(values), max(values)
    return f"{low:.4g}" if low == high else f"{low:.4g}–{high:.4g} (per row in the CSV)"


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}–{high}"


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
