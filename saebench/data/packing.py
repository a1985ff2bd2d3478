"""Pack documents into fixed-length rows the way SAELens does.

The rule is that of ``sae_lens.tokenization_and_batching.concat_and_batch_sequences`` with
``begin_batch_token_id=BOS`` (or None), no begin-sequence token and a separator: every row
starts with BOS (unless the token placed first already is BOS); documents are concatenated,
the separator between two documents sharing a row (unless the next document already starts
with it); a document that overflows a row continues after the next row's BOS. A row never
starts with a separator: a document ending exactly at a row's end is followed by a new row,
not by a separator. The last, partial row is dropped.

Rows are written into a preallocated tensor one tokenizer chunk at a time, so the memory
held beyond the result is one chunk of token ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import torch
from torch import Tensor

DOCUMENTS_PER_CALL = 256


def pack_documents(
    documents: Iterable[str], tokenizer: Any, out: Tensor, bos: int | None, separator: int | None
) -> int:
    """Fill ``out [n_rows, context_size]`` from ``documents``; return the rows filled (all
    of them unless the documents ran out). Reading stops once ``out`` is full."""
    packer = Packer(out, bos, separator)
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
    return packer.rows


class Packer:
    """Writes tokenised documents into ``out``, row by row, by SAELens's packing rule."""

    def __init__(self, out: Tensor, bos: int | None, separator: int | None):
        self._flat = out.view(-1)
        self._context = out.shape[1]
        self._bos, self._separator = bos, separator
        self._filled = 0  # flat positions written

    @property
    def full(self) -> bool:
        return self._filled == self._flat.numel()

    @property
    def rows(self) -> int:
        return self._filled // self._context

    def add(self, documents: Iterable[Sequence[int]]) -> None:
        """Append documents (lists of ids); ids beyond the last row are dropped."""
        room = self._flat.numel() - self._filled
        buffer: list[int] = []
        for ids in documents:
            self._place(ids, buffer, room)
            if len(buffer) >= room:
                break
        written = min(room, len(buffer))
        self._flat[self._filled : self._filled + written] = torch.tensor(
            buffer[:written], dtype=torch.long
        )
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
