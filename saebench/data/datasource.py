"""The resolved form of every dataset a user can pass: a label, a content fingerprint, what it
holds (text or token ids), a JSON spec that rebuilds it, and a way to read it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from saebench.errors import SaebenchError

Kind = Literal["text", "tokens"]


@dataclass(frozen=True)
class DataSource:
    """A named, fingerprinted dataset.

    ``name`` labels it in tables (a file name, ``zoo``, ``inline`` or a Hugging Face name);
    ``fingerprint`` hashes its content (file bytes, the texts, the token ids; for a Hugging
    Face name: name, config, split, column and revision); ``kind`` is ``"text"`` or
    ``"tokens"``; ``row_length`` is the length of a token source's first row (the context
    size when none is asked for), None for text; ``rows`` and ``n_bytes`` say how much it
    holds where that is known; ``spec`` is JSON that :func:`saebench.data.open_source` turns back into this
    source in another process (in-memory data only in this one). Do not mutate ``spec``.

    Example:
        >>> source = data_source(["a document", "another one"])
        >>> source.name, source.kind
        ('inline', 'text')
    """

    name: str
    fingerprint: str
    kind: Kind
    spec: dict[str, Any] = field(hash=False)
    # Zero arguments, a fresh iterator on each call: documents (text) or row blocks (tokens).
    reader: Callable[[], Iterator[Any]] = field(repr=False, compare=False, hash=False)
    row_length: int | None = None  # ids in the first row, for token sources
    # What the data holds, where known without a tokenizer (None: not known, e.g. streamed
    # from the hub): rows of a token source, or documents of a text source and their UTF-8
    # bytes. :mod:`saebench.data.budget` bounds a token budget by them before any model work.
    rows: int | None = None
    n_bytes: int | None = None

    def documents(self) -> Iterator[str]:
        """The documents of a text source, in order."""
        if self.kind != "text":
            raise SaebenchError(f"dataset {self.name!r} holds token ids, not text")
        return iter(self.reader())

    def token_blocks(self) -> Iterator[Any]:
        """The rows of a token source, in blocks: 2-D tensors or arrays, or lists of id lists."""
        if self.kind != "tokens":
            raise SaebenchError(f"dataset {self.name!r} holds text, not token ids")
        return iter(self.reader())
