"""Records -> one DataFrame (:func:`records_frame`, from :mod:`saebench.results.board.frame`), and
the tables every command prints. Never edited by hand.

The tables themselves (ranks, intervals, notes) come from one builder,
:func:`saebench.results.board.tables.board_tables`; :func:`table_text` prints it for `saebench eval`,
`saebench run`, the quickstart and `leaderboard show`. Nothing here imports torch.
"""

from __future__ import annotations

import pandas as pd

from saebench.errors import SaebenchError
from saebench.records import EvalRecord
from saebench.results.board.frame import directions, newest_per_key, records_frame

__all__ = ["directions", "leaderboard", "newest_per_key", "records_frame", "render", "table_text"]

_IDENTITY = ["sae", "architecture", "hook", "d_sae", "model", "dataset", "n_tokens"]


def leaderboard(records: list[EvalRecord], sort_by: str | None = None) -> pd.DataFrame:
    """The table as a frame: identity columns, each evaluator's main metric with its
    interval bounds (and ``sort_by`` when it is another metric), in the board's row order.

    Example:
        >>> frame = leaderboard(load_records("results/"), sort_by="reconstruction.ce_loss_score")
    """
    from saebench.results.board.tables import board_tables

    if not records:
        raise SaebenchError("no records to tabulate; run `saebench eval` first")
    board = board_tables(records, sort_by=sort_by)
    wanted = [c.name for c in board.columns] + ([sort_by] if sort_by else [])
    metrics = []
    for name in dict.fromkeys(wanted):
        metrics += [c for c in (name, f"{name}_low", f"{name}_high") if c in board.full]
    identity = [c for c in (*_IDENTITY, "kind", "rank", "variant") if c in board.full]
    return board.full[identity + metrics].reset_index(drop=True)


def table_text(records: list[EvalRecord], sort_by: str | None = None) -> str:
    """The tables of :func:`saebench.results.board.tables.board_tables` as terminal text (no wider
    than 120 columns): what `saebench eval`, `saebench run` and the quickstart print.

    Example:
        >>> print(table_text(load_records("results/")))
    """
    from saebench.results.board.render import terminal_tables
    from saebench.results.board.tables import board_tables

    if not records:
        raise SaebenchError("no records to tabulate; run `saebench eval` first")
    return terminal_tables(board_tables(records, sort_by=sort_by)).rstrip("\n")


def render(frame: pd.DataFrame, fmt: str = "markdown") -> str:
    """Text of a frame: ``markdown``, ``csv`` (formulas neutralised) or ``html``."""
    from saebench.results.board.render import safe_csv

    if fmt == "csv":
        return safe_csv(frame)
    if fmt == "html":
        return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}")
    if fmt != "markdown":
        raise SaebenchError(f"unknown table format {fmt!r}; use markdown, csv or html")
    from tabulate import tabulate

    return tabulate(frame, headers="keys", tablefmt="github", showindex=False, floatfmt=".4g")
