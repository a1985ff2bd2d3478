"""Hugging Face datasets: a hub name, streamed, or a ``datasets.Dataset`` or
``IterableDataset`` object already in memory.

The column read is ``tokens``, ``input_ids`` or ``text``, looked for in that order as SAELens
does, unless one is named; a token column (a list of ids per row) makes the source
pre-tokenised. ``datasets`` is imported only when a hub dataset is used.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from functools import partial
from itertools import islice
from typing import Any

from saebench.data.datasource import DataSource, Kind
from saebench.data.digest import spec_digest
from saebench.data.text_files import TEXT_COLUMN, TOKEN_COLUMNS, describe
from saebench.errors import SaebenchError

ROWS_PER_BLOCK = 256
_SAMPLED_ROWS = 64  # an IterableDataset object has no content hash: its first rows stand in
_LOCAL = "a local file (.txt, .jsonl, .pt, .npy, .safetensors) or `zoo`"


def hub_spec(
    name: str,
    *,
    config: str | None = None,
    split: str = "train",
    column: str | None = None,
    revision: str | None = None,
) -> dict[str, Any]:
    """The spec of a Hugging Face dataset, for :func:`saebench.data.open_source`.

    Example:
        >>> open_source(hub_spec("NeelNanda/pile-10k", split="train", column="text"))
    """
    return {
        "type": "hf",
        "name": name,
        "config": config,
        "split": split,
        "column": column,
        "revision": revision,
    }


def open_hub(spec: dict[str, Any]) -> DataSource:
    """Open a hub dataset and read its first row, so an unreachable dataset or a missing
    column fails here, before any model work."""
    spec = {**hub_spec(spec["name"]), **spec}
    name = spec["name"]
    first = _first_row(_stream(spec), name)
    column = _column(spec["column"], list(first), name)
    spec["column"] = column
    fields = {k: spec[k] for k in ("name", "config", "split", "column")}
    if spec["revision"] is not None:
        fields["revision"] = spec["revision"]
    kind = _kind(column)
    length = _row_length(first, kind, column)
    return DataSource(name, spec_digest(fields), kind, spec, partial(_stream_values, spec), length)


def is_hf_dataset(value: Any) -> bool:
    datasets = sys.modules.get("datasets")  # not imported: cannot be one of its objects
    return datasets is not None and isinstance(value, (datasets.Dataset, datasets.IterableDataset))


def object_source(dataset: Any, column: str | None = None) -> DataSource:
    """A source over a ``Dataset``/``IterableDataset`` object (its spec only says so; the
    caller keeps the object in its in-memory table)."""
    first = _first_row(dataset, "inline")
    column = _column(column, dataset.column_names or list(first), "inline")
    kind = _kind(column)
    fingerprint = spec_digest({"content": _content_key(dataset, column), "column": column})
    name = dataset.info.dataset_name or "inline"
    spec = {"type": "memory", "kind": kind, "name": name, "fingerprint": fingerprint}
    reader = partial(_values, dataset, column, kind, name)
    return DataSource(name, fingerprint, kind, spec, reader, _row_length(first, kind, column))


def _stream(spec: dict[str, Any]) -> Any:
    try:
        import datasets
    except ImportError:
        raise SaebenchError(
            f"{spec['name']!r} is not a local file; to use a Hugging Face dataset install "
            f"`datasets`, or pass {_LOCAL}"
        ) from None
    try:
        return datasets.load_dataset(
            spec["name"],
            spec["config"],
            split=spec["split"],
            revision=spec["revision"],
            streaming=True,
        )
    except Exception as exc:  # offline, unknown name, config or split
        raise _unreachable(spec["name"], exc) from exc


def _first_row(dataset: Any, name: str) -> dict[str, Any]:
    try:
        first = next(iter(dataset), None)
    except Exception as exc:
        raise _unreachable(name, exc) from exc
    if first is None:
        raise SaebenchError(f"dataset {name!r} has no rows")
    return first


def _column(column: str | None, names: list[str], name: str) -> str:
    if column is None:
        column = next((c for c in (*TOKEN_COLUMNS, TEXT_COLUMN) if c in names), None)
        if column is None:
            raise SaebenchError(
                f"dataset {name!r} has columns {names} but no 'text' column nor a token "
                "column ('tokens' or 'input_ids'); name the column to read"
            )
    elif column not in names:
        raise SaebenchError(f"dataset {name!r} has no column {column!r}; it has {names}")
    return column


def _row_length(first: dict[str, Any], kind: Kind, column: str) -> int | None:
    value = first[column]
    return len(value) if kind == "tokens" and hasattr(value, "__len__") else None


def _kind(column: str) -> Kind:
    return "tokens" if column in TOKEN_COLUMNS else "text"


def _stream_values(spec: dict[str, Any]) -> Iterator[Any]:
    return _values(_stream(spec), spec["column"], _kind(spec["column"]), spec["name"])


def _values(dataset: Any, column: str, kind: Kind, name: str) -> Iterator[Any]:
    """Documents one by one (text) or rows in blocks (tokens)."""
    start = 0
    try:
        for batch in dataset.select_columns([column]).iter(batch_size=ROWS_PER_BLOCK):
            values = batch[column]
            if kind == "tokens":
                yield [v.tolist() if hasattr(v, "tolist") else v for v in values]
            else:
                yield from _texts(values, start, column, name)
            start += len(values)
    except SaebenchError:
        raise
    except Exception as exc:  # the connection dropped mid-stream
        raise _unreachable(name, exc) from exc


def _texts(values: list[Any], start: int, column: str, name: str) -> Iterator[str]:
    for offset, value in enumerate(values):
        if not isinstance(value, str):
            raise SaebenchError(
                f"dataset {name!r} row {start + offset}: {column!r} is {describe(value)}, "
                "expected a string"
            )
        yield value


def _content_key(dataset: Any, column: str) -> str:
    fingerprint = getattr(dataset, "_fingerprint", None)  # datasets' own content hash
    if fingerprint:
        return fingerprint
    info = dataset.info
    rows = [row[column] for row in islice(iter(dataset), _SAMPLED_ROWS)]
    described = [info.dataset_name, info.config_name, str(dataset.split), rows]
    return json.dumps(described, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))


def _unreachable(name: str, exc: Exception) -> SaebenchError:
    reason = (str(exc).strip().splitlines() or [""])[0][:200]
    return SaebenchError(
        f"cannot read Hugging Face dataset {name!r} ({type(exc).__name__}: {reason}); check "
        f"the name, split and network, or pass {_LOCAL}"
    )
