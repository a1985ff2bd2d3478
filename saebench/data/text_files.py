"""``.txt`` and ``.jsonl`` dataset files: validated and fingerprinted in one read when the
source is resolved (so a bad line is reported before any model work), streamed later.

A ``.txt`` file holds one document per line; a ``.jsonl`` file one JSON object per line with
a ``text`` field, or a token column (``tokens`` or ``input_ids``: a list of integer ids) as
SAELens reads pre-tokenised data. Blank lines are skipped in both. Files must be UTF-8: other
encodings are refused rather than decoded with replacement characters, which would change
the text silently.
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saebench.errors import SaebenchError

TEXT_SUFFIXES = (".txt", ".jsonl")
TOKEN_COLUMNS = ("tokens", "input_ids")  # SAELens looks for them in this order, then text
TEXT_COLUMN = "text"
ROWS_PER_BLOCK = 256
_EXAMPLE = '{"text": "..."}'


@dataclass(frozen=True)
class Scan:
    """What one validating read of a text file found."""

    fingerprint: str
    column: str | None  # the jsonl field the documents or rows come from; None for .txt
    row_length: int | None  # ids in the first row of a token column
    count: int = 0  # documents, or rows of a token column
    n_bytes: int = 0  # bytes of the non-blank lines (at least the UTF-8 bytes of the text)


def scan(path: Path, column: str | None = None) -> Scan:
    """Validate every line of ``path`` and fingerprint its bytes in the same read."""
    digest = hashlib.sha256()
    count, row_length, n_bytes = 0, None, 0
    for number, raw, line in _lines(path):
        digest.update(raw)
        if not line.strip():
            continue
        n_bytes += len(raw)
        if path.suffix.lower() == ".jsonl":
            row = _json_object(path, number, line)
            column = _check_row(path, number, row, column)
            if count == 0 and column in TOKEN_COLUMNS:
                row_length = len(row[column])
        count += 1
    if count == 0:
        what = "is empty" if path.stat().st_size == 0 else "holds only blank lines"
        raise SaebenchError(f"{path}: the file {what}, so it gives no documents")
    return Scan(digest.hexdigest()[:16], column, row_length, count, n_bytes)


def documents(path: Path, column: str | None) -> Iterator[str]:
    """The documents of a scanned file, in order."""
    if column is None:
        return (line for _, _, line in _lines(path) if line.strip())
    return (row[column] for row in _rows(path))


def token_blocks(path: Path, column: str) -> Iterator[list[list[int]]]:
    """The token rows of a scanned ``.jsonl`` file, in blocks of ``ROWS_PER_BLOCK``."""
    block: list[list[int]] = []
    for row in _rows(path):
        block.append(row[column])
        if len(block) == ROWS_PER_BLOCK:
            yield block
            block = []
    if block:
        yield block


def describe(value: Any) -> str:
    """How a JSON value reads in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _lines(path: Path) -> Iterator[tuple[int, bytes, str]]:
    # Binary reading splits on "\n" only, so line numbers match what editors show (text
    # mode would also split on a lone "\r").
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            data = raw
            if number == 1 and raw.startswith(codecs.BOM_UTF8):  # written by some editors
                data = raw[len(codecs.BOM_UTF8) :]
            yield number, raw, _decode(path, number, data)


def _decode(path: Path, number: int, data: bytes) -> str:
    try:
        line = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        found = f"byte 0x{data[exc.start]:02x} at offset {exc.start} of the line"
        raise SaebenchError(
            f"{path}:{number}: not UTF-8 text ({found}); convert the file to UTF-8"
        ) from None
    if "\x00" in line:
        raise SaebenchError(
            f"{path}:{number}: not UTF-8 text (a NUL byte, so probably a binary file); "
            "convert the file to UTF-8"
        )
    return line.rstrip("\r\n")


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    for _, _, line in _lines(path):
        if line.strip():
            yield json.loads(line)


def _json_object(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SaebenchError(
            f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno}); "
            f"each line must be one JSON object such as {_EXAMPLE}"
        ) from None
    if not isinstance(row, dict):
        raise SaebenchError(
            f"{path}:{number}: found {describe(row)}, expected a JSON object such as {_EXAMPLE}"
        )
    return row


def _check_row(path: Path, number: int, row: dict[str, Any], column: str | None) -> str:
    """The column this row is read from (fixed by the first row), checked for its type."""
    if column is None:
        column = next((c for c in (*TOKEN_COLUMNS, TEXT_COLUMN) if c in row), None)
        if column is None:
            fields = ", ".join(repr(k) for k in row) or "no fields"
            raise SaebenchError(
                f"{path}:{number}: an object with {fields} but no 'text' field (nor a token "
                "column 'tokens' or 'input_ids'); add a 'text' string to every line"
            )
    elif column not in row:
        raise SaebenchError(
            f"{path}:{number}: no {column!r} field; every line must have the field the "
            f"first line has ({column!r})"
        )
    value = row[column]
    if column not in TOKEN_COLUMNS and not isinstance(value, str):
        raise SaebenchError(f"{path}:{number}: {column!r} is {describe(value)}, expected a string")
    if column in TOKEN_COLUMNS:
        _check_ids(f"{path}:{number}", column, value)
    return column


def _check_ids(where: str, column: str, value: Any) -> None:
    if not isinstance(value, list):
        raise SaebenchError(
            f"{where}: {column!r} is {describe(value)}, expected a list of integer token ids"
        )
    for index, item in enumerate(value):
        if type(item) is not int:
            raise SaebenchError(
                f"{where}: item {index} of {column!r} is {describe(item)}, expected an "
                "integer token id"
            )
