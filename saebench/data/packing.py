"""Pack documents into fixed-length rows the way SAELens does.

The rule is that of ``sae_lens.tokenization_and_batching.concat_and_batch_sequences`` with
``begin_batch_token_id=BOS`` (or None), no begin-sequence token and a separator: every row
starts with BOS (unless the token placed first already is BOS); documents are concatenated,
the separator between two documents sharing a row (unless the next document already starts
with it); a document that overflows a row continues after the next row's BOS. A row never
starts with a separator: a document ending exactly at a row's end is followed by a new row,
not by a separator. The last, partial row is dropped.

Rows are kept as the tokenizer's chunks come, so memory grows with the rows the data
actually gives, never with the budget asked for (a budget of 10^12 tokens would be 8 TB up
front); :func:`count_rows` runs the same rule and keeps nothing, to learn what a dataset
gives before any run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import torch
from torch import Tensor

DOCUMENTS_PER_CALL = 256


def pack_documents(
    documents: Iterable[str],
    tokenizer: Any,
    n_rows: int,
    context_size: int,
    bos: int | None,
    separator: int | None,
) -> Tensor:
    """Up to ``n_rows`` rows ``[rows, context_size]`` packed from ``documents`` (fewer when
    the documents run out). Reading stops once ``n_rows`` rows are full."""
    packer = Packer(n_rows, context_size, bos, separator)
    _feed(packer, documents, tokenizer)
    return packer.tokens()


def count_rows(
    documents: Iterable[str],
    tokenizer: Any,
    n_rows: int,
    context_size: int,
    bos: int | None,
    separator: int | None,
) -> int:
    """How many of ``n_rows`` rows :func:`pack_documents` would fill; nothing is kept."""
    packer = Packer(n_rows, context_size, bos, separator, keep=False)
    _feed(packer, documents, tokenizer)
    return packer.rows


def _feed(packer: Packer, documents: Iterable[str], tokenizer: Any) -> None:
    for chunk in _chunks(iter(documents), DOCUMENTS_PER_CALL):
        # Without special tokens, as SAELens tokenises with prepend_bos=False: BOS and the
        # separator are placed by the packer alone.
        encoded = tokenizer(
            chunk,
            add_special_tokens=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        packer.add(encoded["input_ids"])
        if packer.full:
            break


class Packer:
    """Places tokenised documents, row by row, by SAELens's packing rule, into at most
    ``n_rows`` rows; ``keep=False`` only counts them."""

    def __init__(
        self,
        n_rows: int,
        context_size: int,
        bos: int | None,
        separator: int | None,
        keep: bool = True,
    ):
        self._capacity = n_rows * context_size  # a number: nothing is allocated for it
        self._context = context_size
        self._bos, self._separator = bos, separator
        self._keep = keep
        self._pieces: list[Tensor] = []
        self._filled = 0  # flat positions placed

    @property
    def full(self) -> bool:
        return self._filled == self._capacity

    @property
    def rows(self) -> int:
        return self._filled // self._context

    def tokens(self) -> Tensor:
        """The full rows placed so far, ``[rows, context_size]`` int64 (the partial last row
        is dropped)."""
        flat = torch.cat(self._pieces) if self._pieces else torch.empty(0, dtype=torch.long)
        return flat[: self.rows * self._context].view(self.rows, self._context)

    def add(self, documents: Iterable[Sequence[int]]) -> None:
        """Append documents (lists of ids); ids beyond the last row are dropped."""
        room = self._capacity - self._filled
        buffer: list[int] = []
        for ids in documents:
            self._place(ids, buffer, room)
            if len(buffer) >= room:
                break
        written = min(room, len(buffer))
        if self._keep and written:
            self._pieces.append(torch.tensor(buffer[:written], dtype=torch.long))
        self._filled += written

    def _place(self, ids: Sequence[int], buffer: list[int], room: int) -> None:
        position = 0
        while position < len(ids) and len(buffer) < room:
            column = (self._filled + len(buffer)) % self._context
            if column == 0:
                if self._bos is not None and ids[position] != self._bos:
                    buffer.append(self._bos)
                    column = 1
            elif self._separator is not None and ids[position] != self._separator:
                # Only at a document's start: a document that does not fit a row always
                # fills it, so the next piece begins a row (the branch above).
                buffer.append(self._separator)
                column += 1
            take = min(self._context - column, len(ids) - position)
            buffer.extend(ids[position : position + take])
            position += take


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(items, size)):
        yield chunk
