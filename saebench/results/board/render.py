"""A :class:`~saebench.results.board.tables.Board` as text: markdown (README, report.md), the terminal
(fits 120 columns: a board too wide is split into tables that repeat the row names), and CSV
(every metric, spreadsheet formulas neutralised).

Names come from records, so they are text, never markup: markdown escapes HTML and markdown
syntax, the CSV prefixes a cell that a spreadsheet would run as a formula (OWASP's advice).

Example:
    >>> print(terminal_tables(board_tables(records)))
"""

from __future__ import annotations

import re
import textwrap

import pandas as pd

from saebench.results.board.tables import CONTROL, RANK, SAE, Board, Cell, Column, Section, fmt

WIDTH = 120  # the terminal the tables must fit
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

LEGEND = (
    "#: rank; SAEs whose intervals overlap share one (2=). ±: half the interval (the notes "
    "say which). {best}: a separated best (its interval overlaps no other SAE's). {near}: "
    "the SAE's interval overlaps its control's. Controls and reference methods are not ranked."
)


# -- shared -----------------------------------------------------------------------------------
def _identity(section: Section) -> list[str]:
    frame = section.frame
    names = [RANK, "sae"]
    if (frame["kind"] != SAE).any():
        names.append("kind")
    names += ["architecture", "d_sae"]
    if "variant" in frame and frame["variant"].fillna("").astype(bool).any():
        names.append("variant")
    return names


def display_rows(section: Section, columns: list[Column]) -> tuple[list[str], list[list[str]]]:
    """Header and cell texts of a section for markdown (unescaped): best in ``**``,
    ``≈ctrl`` after a value whose interval overlaps its control's."""
    identity = _identity(section)
    header = ["#" if n == RANK else n for n in identity]
    header += [f"{c.name} {c.arrow}".rstrip() for c in columns]
    rows = []
    for i, row in section.frame.iterrows():
        texts = [fmt(row.get(n)) if n != RANK else row[RANK] for n in identity]
        for column in columns:
            cell = section.cells.get((i, column.name), Cell(None))
            text = f"**{cell.text}**" if cell.best else cell.text
            texts.append(text + (" ≈ctrl" if cell.near_control else ""))
        rows.append(texts)
    return header, rows


def ranked_by(section: Section) -> str:
    if section.rank_by is None:
        return "not ranked: no column with a direction"
    return f"ranked by {section.rank_by.name} {section.rank_by.arrow}".rstrip()


# -- markdown ---------------------------------------------------------------------------------
def md_text(text) -> str:
    """Text safe in markdown: HTML and markdown syntax escaped, one line.

    Example:
        >>> md_text("<img src=x>|[a]")
        '&lt;img src=x&gt;\\\\|\\\\[a\\\\]'
    """
    flat = " ".join(str(text).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*\[\]|])", r"\\\1", flat)


def md_code(text) -> str:
    """A name such as a hook as a markdown code span; a name with other characters than
    letters, digits and ``._-:/@`` as escaped text (no renderer can read it as HTML)."""
    flat = " ".join(str(text).split())
    if not re.fullmatch(r"[\w.:/@-]*", flat):
        return md_text(flat)
    return f"`{flat}`"


def markdown_tables(board: Board) -> str:
    """Every section as a GitHub markdown table under a ``### model · hook`` heading, with
    the legend and one note per evaluator setting (config in full) under it."""
    parts = []
    for section in board.sections:
        header, rows = display_rows(section, board.columns)
        lines = [f"### {md_text(section.model)} · {md_code(section.hook)}", ""]
        lines.append("| " + " | ".join(md_text(h) for h in header) + " |")
        lines.append("| " + " | ".join("---" for _ in header) + " |")
        lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]
        lines += ["", f"- {md_text(ranked_by(section))}"]
        for note in section.notes:
            lines.append(f"- {md_text(note.line())}")
            if note.config:
                lines.append(f"  config: {md_text(note.config_text())}")
        parts.append("\n".join(lines))
    parts.append(md_text(LEGEND.format(best="bold", near="≈ctrl")))
    return "\n\n".join(parts) + "\n"


def _md_cell(text: str) -> str:
    bold = text.startswith("**")
    inner = md_text(text.replace("**", "", 2) if bold else text)
    return f"**{inner}**" if bold else inner


# -- terminal ---------------------------------------------------------------------------------
def terminal_tables(board: Board, width: int = WIDTH) -> str:
    """Every section as plain text no wider than ``width``: a rank, the row's name, one
    column per evaluator (its main metric with its interval), then the legend and notes."""
    parts = []
    for section in board.sections:
        lines = [f"{section.model} · {section.hook}", ""]
        lines += _terminal_table(section, board.columns, width)
        lines += ["", f"- {ranked_by(section)}"]
        for note in section.notes:
            lines += textwrap.wrap(note.line(), width, initial_indent="- ", subsequent_indent="  ")
        parts.append("\n".join(lines))
    parts.append("\n".join(textwrap.wrap(LEGEND.format(best="*", near="≈"), width)))
    return "\n\n".join(parts) + "\n"


def _terminal_table(section: Section, columns: list[Column], width: int) -> list[str]:
    frame = section.frame
    bases = dict(zip(frame.get("uri", []), frame["sae"], strict=True))
    names = [_terminal_name(row, bases) for _, row in frame.iterrows()]
    identity = [["#", *section.frame[RANK]], ["sae", *names]]
    if "variant" in section.frame and section.frame["variant"].fillna("").astype(bool).any():
        identity.append(["variant", *section.frame["variant"].fillna("")])
    shown = [c for c in columns if c.name in section.frame]
    values = [_terminal_column(section, c) for c in shown]
    lines, chunk = [], []
    for column in values:
        if chunk and _width(identity + chunk + [column]) > width:
            lines += [*_plain(identity + chunk), ""]
            chunk = []
        chunk.append(column)
    return lines + _plain(identity + chunk)


def _terminal_name(row: pd.Series, bases: dict) -> str:
    """Short row names: ``das (ravel ref)``; a control under its SAE as ``↳ ~permuted``
    when its name starts with its SAE's."""
    name = str(row["sae"]).replace(" reference)", " ref)")
    if row["kind"] != CONTROL:
        return name
    base = bases.get(row.get("of"))
    if isinstance(base, str) and name.startswith(base) and len(name) > len(base):
        name = name[len(base) :]
    return f"↳ {name}"


def _terminal_column(section: Section, column: Column) -> list[str]:
    """Header (evaluator name and arrow) and cells: ``*`` a separated best, ``≈`` near its
    control."""
    texts = [f"{column.evaluator} {column.arrow}".rstrip()]
    for i in section.frame.index:
        cell = section.cells.get((i, column.name), Cell(None))
        marks = ("*" if cell.best else "") + ("≈" if cell.near_control else "")
        texts.append(cell.text + marks)
    return texts


def _width(columns: list[list[str]]) -> int:
    return sum(max(len(t) for t in c) for c in columns) + 2 * (len(columns) - 1)


def _plain(columns: list[list[str]]) -> list[str]:
    """Columns as text: names left-aligned, numbers right-aligned, a rule under the header."""
    widths = [max(len(t) for t in c) for c in columns]
    left = [i == 1 or i == 2 and columns[i][0] == "variant" for i in range(len(columns))]
    lines = []
    for r in range(len(columns[0])):
        cells = [
            c[r].ljust(w) if is_left else c[r].rjust(w)
            for c, w, is_left in zip(columns, widths, left, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if r == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


# -- CSV ----------------------------------------------------------------------------------------
def csv_text(board: Board) -> str:
    """Every row and every metric (not only the main ones), with their intervals
    (``metric_low``/``metric_high``), nulls (``metric_null``) and sample sizes, full precision."""
    return safe_csv(board.full)


def safe_csv(frame: pd.DataFrame) -> str:
    """CSV whose text cells never start a spreadsheet formula: a cell starting with
    ``= + - @``, a tab or a carriage return gets a leading apostrophe (numbers stay numbers)."""
    safe = frame.copy()
    for name in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[name]):
            safe[name] = safe[name].map(_neutral)
    safe.columns = [_neutral(c) for c in safe.columns]
    return safe.to_csv(index=False, lineterminator="\n")


def _neutral(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
