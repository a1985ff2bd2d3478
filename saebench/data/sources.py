"""Resolve whatever a user passes as a dataset into a :class:`DataSource`, and rebuild one
from its JSON spec.

Accepted: a list or tuple of strings (documents) or of token-id lists (rows); a ``[n, ctx]``
integer tensor or numpy array; a path to ``.txt``, ``.jsonl``, ``.pt``, ``.npy`` or
``.safetensors``; ``"zoo"``; a Hugging Face dataset name or spec (see
:func:`saebench.data.hub.hub_spec`); a ``datasets.Dataset``/``IterableDataset``. Everything is
validated here, before any model work. In-memory data is kept in a table of this process, so
its spec opens only here: a fresh process is told to save it to a file.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from saebench.data import text_files, token_files
from saebench.data.datasource import DataSource, Kind
from saebench.data.digest import file_digest, rows_digest, texts_digest
from saebench.data.hub import hub_spec, is_hf_dataset, object_source, open_hub
from saebench.errors import SaebenchError

_IN_MEMORY: dict[str, DataSource] = {}  # fingerprint -> source, for specs of type "memory"
_SAVE_AS = {
    "text": "a .txt (one document per line) or .jsonl (a 'text' field per line) file",
    "tokens": "a .pt, .npy or .safetensors file of a [n, ctx] tensor of token ids",
}
_FILE_TYPES = (
    ".txt (one document per line), .jsonl (a 'text' field, or a token column 'input_ids' or "
    "'tokens', per line), or token ids in .pt, .npy or .safetensors"
)
_ROWS_PER_BLOCK = 256


def data_source(dataset: Any) -> DataSource:
    """The :class:`DataSource` for anything a user may pass as ``dataset``.

    Example:
        >>> data_source(["a document", "another one"]).kind
        'text'
        >>> data_source(torch.zeros(4, 16, dtype=torch.long)).kind
        'tokens'
    """
    if isinstance(dataset, DataSource):
        return dataset
    if isinstance(dataset, Mapping):
        return open_source(dataset)
    if isinstance(dataset, (list, tuple)):
        return _remember(_list_source(dataset))
    if token_files.is_array(dataset):
        return _remember(_array_source(dataset))
    if is_hf_dataset(dataset):
        return _remember(object_source(dataset))
    if isinstance(dataset, os.PathLike):
        return _file_source(Path(dataset))
    if isinstance(dataset, str):
        return _string_source(dataset)
    raise SaebenchError(
        f"cannot use a {type(dataset).__name__} as a dataset; pass a list of strings, a "
        f"[n, ctx] tensor of token ids, a file ({_FILE_TYPES}), `zoo` or a Hugging Face name"
    )


def open_source(spec: Mapping[str, Any], *, fingerprint: str | None = None) -> DataSource:
    """Rebuild a source from its ``spec`` (``DataSource.spec``), in this or a fresh process;
    with ``fingerprint``, refuse data that changed since the spec was made.

    Example:
        >>> open_source({"type": "file", "path": "/data/corpus.jsonl"}).name
        'corpus.jsonl'
    """
    kind = spec.get("type")
    if kind == "file":
        source = _file_source(Path(spec["path"]), spec.get("column"))
    elif kind == "zoo":
        source = _zoo_source()
    elif kind == "smollm2":
        source = _smollm2_source(spec.get("part", "eval"))
    elif kind == "hf":
        source = open_hub(dict(spec))
    elif kind == "memory":
        source = _recall(spec)
    else:
        raise SaebenchError(
            f"unknown dataset spec type {kind!r}; expected 'file', 'zoo', 'hf' or 'memory'"
        )
    if fingerprint is not None and source.fingerprint != fingerprint:
        raise SaebenchError(
            f"dataset {source.name!r} changed since the run was planned (fingerprint "
            f"{fingerprint}, now {source.fingerprint}); plan the run again"
        )
    return source


def _string_source(text: str) -> DataSource:
    if text == "zoo":
        return _zoo_source()
    if text in ("smollm2", "smollm2-train"):
        return _smollm2_source("eval" if text == "smollm2" else "train")
    path = Path(text).expanduser()
    suffix = path.suffix.lower()
    known = suffix in text_files.TEXT_SUFFIXES + token_files.TOKEN_SUFFIXES
    looks_like_path = text.startswith(("/", ".", "~")) or path.exists()
    if known or looks_like_path or suffix in (".json", ".csv", ".parquet", ".npz", ".gz"):
        return _file_source(path)
    return open_hub(hub_spec(text))


def _file_source(path: Path, column: str | None = None) -> DataSource:
    path = path.expanduser()
    if path.is_dir():
        raise SaebenchError(f"{path}: is a folder; pass a dataset file: {_FILE_TYPES}")
    if not path.is_file():
        raise SaebenchError(f"{path}: dataset file not found")
    spec: dict[str, Any] = {"type": "file", "path": str(path.resolve())}
    suffix = path.suffix.lower()
    if suffix in text_files.TEXT_SUFFIXES:
        scan = text_files.scan(path, column)
        spec["column"] = scan.column
        kind = "tokens" if scan.column in text_files.TOKEN_COLUMNS else "text"
        reader = _text_file_reader(path, kind, scan.column)
        size = {"rows": scan.count, "n_bytes": scan.n_bytes if kind == "text" else None}
        return DataSource(path.name, scan.fingerprint, kind, spec, reader, scan.row_length, **size)
    if suffix in token_files.TOKEN_SUFFIXES:
        rows, width = token_files.scan(path)
        reader = partial(token_files.blocks, path)
        return DataSource(path.name, file_digest(path), "tokens", spec, reader, width, rows)
    raise SaebenchError(f"{path}: unsupported dataset file type {suffix!r}; use {_FILE_TYPES}")


def _text_file_reader(path: Path, kind: Kind, column: str | None) -> Callable[[], Iterator[Any]]:
    if kind == "tokens":
        return lambda: text_files.token_blocks(path, column)
    return lambda: text_files.documents(path, column)


def _zoo_source() -> DataSource:
    from saebench.zoo.catalog import evaluation_texts

    texts = list(evaluation_texts())
    size = {"rows": len(texts), "n_bytes": _utf8_bytes(texts)}
    return DataSource(
        "zoo", texts_digest(texts), "text", {"type": "zoo"}, lambda: iter(texts), **size
    )


def _smollm2_source(part: str) -> DataSource:
    from saebench.data.smollm2_text import text_source

    return text_source(part)


def _utf8_bytes(texts: Sequence[str]) -> int:
    return sum(len(text.encode("utf-8", "surrogatepass")) for text in texts)


def _list_source(items: Sequence[Any]) -> DataSource:
    if not items:
        raise SaebenchError("the dataset list is empty; pass documents or token-id rows")
    if isinstance(items[0], str):
        _check_all(items, lambda item: isinstance(item, str), "strings (documents)")
        texts = list(items)
        source = _memory_source("text", texts_digest(texts), lambda: iter(texts))
        return replace(source, rows=len(texts), n_bytes=_utf8_bytes(texts))
    if _is_id_row(items[0]):
        _check_all(items, _is_id_row, "token-id lists (rows)")
        rows = [list(row) for row in items]
        blocks = [rows[i : i + _ROWS_PER_BLOCK] for i in range(0, len(rows), _ROWS_PER_BLOCK)]
        source = _memory_source("tokens", rows_digest(blocks), partial(iter, blocks), len(rows[0]))
        return replace(source, rows=len(rows))
    raise SaebenchError(
        f"dataset list item 0 is {_describe(items[0])}; pass a list of strings (documents), a "
        "list of token-id lists (rows), or a [n, ctx] tensor of token ids"
    )


def _check_all(items: Sequence[Any], ok: Callable[[Any], bool], expected: str) -> None:
    for index, item in enumerate(items):
        if not ok(item):
            raise SaebenchError(
                f"dataset list item {index} is {_describe(item)}, but item 0 makes it a list "
                f"of {expected}; do not mix the two"
            )


def _is_id_row(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and all(
        isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in item
    )


def _describe(item: Any) -> str:
    if isinstance(item, (list, tuple)):
        odd = next(i for i in item if not isinstance(i, numbers.Integral) or isinstance(i, bool))
        return f"a list holding {_a(type(odd).__name__)}"
    return _a(type(item).__name__)


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _array_source(array: Any) -> DataSource:
    token_files.check_ids(array, "the token-id array")
    fingerprint = rows_digest(token_files.row_blocks(array))
    reader = partial(token_files.row_blocks, array)
    rows, width = token_files.shape_of(array)
    return replace(_memory_source("tokens", fingerprint, reader, width), rows=rows)


def _memory_source(
    kind: Kind, fingerprint: str, reader: Callable[[], Iterator[Any]], row_length: int | None = None
) -> DataSource:
    spec = {"type": "memory", "kind": kind, "name": "inline", "fingerprint": fingerprint}
    return DataSource("inline", fingerprint, kind, spec, reader, row_length)


def _remember(source: DataSource) -> DataSource:
    # Kept for the life of the process: a plan may hold only the spec, and must still open.
    return _IN_MEMORY.setdefault(source.fingerprint, source)


def _recall(spec: Mapping[str, Any]) -> DataSource:
    source = _IN_MEMORY.get(spec.get("fingerprint", ""))
    if source is not None:
        return source
    what = _SAVE_AS.get(spec.get("kind", ""), f"{_SAVE_AS['text']}, or {_SAVE_AS['tokens']}")
    raise SaebenchError(
        f"dataset {spec.get('name', 'inline')!r} was passed as an in-memory object, which "
        f"exists only in the process that made it; save it to {what} and pass the path"
    )


# The name before token data was accepted; kept until its callers move to data_source.
