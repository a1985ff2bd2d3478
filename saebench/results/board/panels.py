"""Panel records on a board: one block per panel (an evaluator comparing the SAEs of a site),
its headline metrics beside their nulls, and the member x member matrix of its main metric
when the record has one (``details["matrices"]``, e.g. seed consistency).

Example:
    >>> print(panel_markdown(records))
"""

from __future__ import annotations

from saebench.records import EvalRecord
from saebench.results.board.render import md_code, md_text
from saebench.results.board.tables import fmt


def panel_markdown(records: list[EvalRecord]) -> str:
    """The ``## Panels`` part of a README ("" when no record is a panel's)."""
    panels = sorted(
        (r for r in records if r.sae.role == "panel"),
        key=lambda r: (r.evaluator.name, r.model.name, r.sae.hook_name, r.key),
    )
    if not panels:
        return ""
    blocks = ["## Panels", "", _INTRO, ""]
    for record in panels:
        blocks += _block(record)
    return "\n".join(blocks)


_INTRO = (
    "A panel record compares every SAE of a site (controls left out). Each metric is the mean "
    "over pairs of members, beside its null (the same metric for untrained SAEs of the same "
    "shapes) where the evaluator gives one."
)


def _block(record: EvalRecord) -> list[str]:
    ev = record.evaluator
    lines = [f"### {md_text(ev.name)} · {md_text(record.model.name)} · "
             f"{md_code(record.sae.hook_name)}", ""]  # fmt: skip
    lines.append(f"{len(record.panel or [])} members; config: {md_text(_config(ev.config))}")
    lines += ["", "| metric | mean over pairs | null |", "| --- | --- | --- |"]
    for name in ev.headline or [ev.main_metric]:
        value, null = record.metrics.get(name), record.nulls.get(name)
        lines.append(f"| {md_text(name)} | {fmt(value)} | {fmt(null)} |")
    lines += [""] + _matrix(record) + [""]
    return lines


def _matrix(record: EvalRecord) -> list[str]:
    """The main metric's member x member matrix (row member against column member)."""
    main = record.evaluator.main_metric
    matrix = (record.details.get("matrices") or {}).get(main)
    members = record.details.get("members")
    if not matrix or not members or len(members) != len(matrix):
        return []
    short = [md_text(str(m).removeprefix("zoo:")) for m in members]
    lines = [f"`{md_text(main)}`, row against column:", ""]
    lines.append("| | " + " | ".join(short) + " |")
    lines.append("| --- |" + " --- |" * len(short))
    for name, row in zip(short, matrix, strict=True):
        lines.append(
            f"| {name} | " + " | ".join("—" if v is None else f"{v:.3f}" for v in row) + " |"
        )
    return lines


def _config(config: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(config.items())) or "defaults"
