"""Rows of pre-tokenised data, used as given: no BOS added, nothing repacked.

A context size smaller than the data's rows keeps each row's first ``context_size`` ids (as
SAELens slices ``row[:context_size]``); a larger one is refused. Ragged rows (a token column
whose rows differ in length) are refused unless a context size is given that every row used
reaches, in which case each is cut to it, again as SAELens does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import chain
from typing import Any

import numpy as np
import torch
from torch import Tensor

from saebench.data.datasource import DataSource
from saebench.errors import SaebenchError


def token_rows(source: DataSource, context_size: int | None, n_tokens: int) -> Tensor:
    """The first ``ceil(n_tokens / context_size)`` rows of ``source``, int64."""
    blocks = source.token_blocks()
    first = next(blocks)  # a resolved token source is never empty
    data_width = _width(first, source.name)
    width = context_size or data_width
    if width < 2:
        raise SaebenchError(
            f"the rows of {source.name!r} hold {width} ids; a context needs at least 2 (a "
            "token and the one it predicts)"
        )
    if width > data_width and not isinstance(first, list):
        raise SaebenchError(
            f"the context size {width} is longer than the rows of {source.name!r} "
            f"({data_width} ids); use a context size of at most {data_width}, or tokenise "
            "the data into longer rows"
        )
    wanted = math.ceil(n_tokens / width)
    pieces = _take(chain([first], blocks), wanted, width, context_size is None, source.name)
    filled = sum(len(piece) for piece in pieces)
    if filled < wanted:
        raise SaebenchError(
            f"dataset {source.name!r} gives only {filled * width} tokens in {width}-token "
            f"contexts, fewer than the {n_tokens} asked for; lower the token budget or give "
            "more data"
        )
    return torch.cat(pieces)


def count_token_rows(source: DataSource, limit: int) -> int:
    """How many rows (at most ``limit``) a token source gives, read without keeping them."""
    if source.rows is not None:  # known from the file's header or the array's shape
        return min(source.rows, limit)
    counted = 0
    for block in source.token_blocks():
        counted += len(block)
        if counted >= limit:
            return limit
    return counted


def _take(blocks: Iterator[Any], wanted: int, width: int, exact: bool, where: str) -> list:
    """Rows block by block, as they come: memory grows with the data, not the budget."""
    pieces: list[Tensor] = []
    filled = 0
    for block in blocks:
        take = min(len(block), wanted - filled)
        pieces.append(_as_rows(block[:take], width, exact, where, filled))
        filled += take
        if filled == wanted:
            break
    return pieces


def _width(block: Any, where: str) -> int:
    if not isinstance(block, list):
        return block.shape[1]
    if not isinstance(block[0], (list, tuple)):  # e.g. a column of strings or single ids
        raise _not_ids(where, 0, 1)
    return len(block[0])


def _not_ids(where: str, start: int, count: int) -> SaebenchError:
    rows = f"row {start}" if count == 1 else f"rows {start} to {start + count - 1}"
    return SaebenchError(f"dataset {where!r} {rows}: expected lists of integer token ids")


def _as_rows(block: Any, width: int, exact: bool, where: str, start: int) -> Tensor:
    if isinstance(block, Tensor):
        return block[:, :width].to(device="cpu", dtype=torch.long)
    if not isinstance(block, list):  # a numpy array or memory map
        return torch.from_numpy(np.array(block[:, :width], dtype=np.int64))
    if not all(isinstance(row, (list, tuple)) for row in block):
        raise _not_ids(where, start, len(block))
    _check_lengths([len(row) for row in block], width, exact, where, start)
    try:
        rows = torch.tensor([row[:width] for row in block])
    except (TypeError, ValueError, RuntimeError):  # not numbers, or too large for int64
        rows = None
    if rows is None or rows.ndim != 2 or rows.is_floating_point() or rows.dtype == torch.bool:
        raise _not_ids(where, start, len(block))
    return rows


def _check_lengths(lengths: list[int], width: int, exact: bool, where: str, start: int) -> None:
    for offset, length in enumerate(lengths):
        if length == width or (length > width and not exact):
            continue
        index = start + offset
        if exact:
            raise SaebenchError(
                f"dataset {where!r} has rows of different lengths (row 0: {width} ids, row "
                f"{index}: {length}); give a context size no longer than the shortest row, "
                "and every row is cut to it"
            )
        raise SaebenchError(
            f"dataset {where!r} row {index} has {length} ids, fewer than the context size "
            f"{width}; use a smaller context size, or drop the short rows"
        )
