"""Where evaluation text comes from: a list of strings, a .txt or .jsonl file, the zoo's
held-out text, or a Hugging Face dataset name (when a network or local cache is there)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saebench.errors import SaebenchError


@dataclass(frozen=True)
class TextSource:
    """A named, fingerprinted stream of documents."""

    name: str
    fingerprint: str
    documents: Any  # a zero-argument callable returning an iterator of strings

    def __iter__(self) -> Iterator[str]:
        return iter(self.documents())


def text_source(dataset: Any) -> TextSource:
    """Resolve what a user passed as ``dataset``.

    Example:
        >>> text_source(["a document", "another one"]).name
        'inline'
    """
    if isinstance(dataset, TextSource):
        return dataset
    if isinstance(dataset, (list, tuple)):
        texts = [str(t) for t in dataset]
        digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
        return TextSource("inline", digest, lambda: iter(texts))
    spec = str(dataset)
    if spec == "zoo":
        from saebench.zoo.catalog import evaluation_texts

        texts = list(evaluation_texts())
        digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
        return TextSource("zoo", digest, lambda: iter(texts))
    path = Path(spec).expanduser()
    if path.suffix in (".txt", ".jsonl") or path.exists():
        return _file_source(path)
    return _hf_source(spec)


def _file_source(path: Path) -> TextSource:
    if not path.is_file():
        raise SaebenchError(f"{path}: dataset file not found; pass a .txt or .jsonl file")
    if path.suffix not in (".txt", ".jsonl"):
        raise SaebenchError(
            f"{path}: unsupported dataset file; use .txt (one document per line) or .jsonl (a 'text' field per line)"
        )
    digest = _file_digest(path)
    reader = _jsonl_documents if path.suffix == ".jsonl" else _txt_documents
    return TextSource(path.name, digest, lambda: reader(path))


def _txt_documents(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                yield line.rstrip("\n")


def _jsonl_documents(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield row["text"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise SaebenchError(
                    f"{path}:{number}: each line must be a JSON object with a 'text' field"
                ) from exc


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _hf_source(name: str) -> TextSource:
    try:
        import datasets
    except ImportError as exc:
        raise SaebenchError(
            f"{name!r} is not a file; for a Hugging Face dataset install `datasets`"
        ) from exc

    def documents() -> Iterator[str]:
        try:
            stream = datasets.load_dataset(name, split="train", streaming=True)
            for row in stream:
                yield row["text"]
        except Exception as exc:  # offline or unknown name
            raise SaebenchError(
                f"dataset {name!r} is neither a local .txt/.jsonl file nor a reachable Hugging "
                f"Face dataset ({type(exc).__name__}); pass a local file or `zoo`"
            ) from exc

    return TextSource(name, f"hf:{name}", documents)
