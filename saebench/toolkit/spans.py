"""Activations at every token of a span (not one token per prompt, as
:mod:`saebench.toolkit.sites`), for evaluators that pool over a text, as SAEBench's
probing evaluators do: the mean over a prompt's tokens, with BOS and padding left out.

:func:`span_tokens` returns the tokens of every prompt as rows of one matrix and the prompt
each row belongs to; :func:`pool` averages any per-token quantity (activations, SAE codes)
per prompt. The model runs only up to the hook's block, in chunks of a constant size (no
number depends on it), each cut after its last read column.

Example:
    >>> owner, x = span_tokens(runner, prompts, "blocks.1.hook_resid_post", "text", "mean")
    >>> pooled = pool(owner, x.numpy(), len(prompts))          # [n_prompts, d]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from saebench.toolkit.sites import CHUNK, LAST, Position, tokenise

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor

Pooling = Literal["mean", "first", "last"]


def span_tokens(
    runner, prompts: Sequence, hook: str, span: str, pooling: Pooling, meta=None
) -> tuple[np.ndarray, Tensor]:
    """``(owner, x)``: ``x [tokens, d]`` float32 at ``hook`` (as the SAE of ``meta`` reads it)
    for every token of span ``span`` of each prompt (``pooling`` "mean"), or only its first
    or last token; ``owner[t]`` is the prompt of row ``t``. Rows come in prompt order.
    ``span`` :data:`~saebench.toolkit.sites.LAST` means each prompt's last token."""
    import torch

    from saebench.models.edits import read_rows

    batch = tokenise(runner, prompts)
    if span == LAST:
        first = last = batch.ends
    else:
        first, last = Position(span, "first").columns(batch), Position(span).columns(batch)
    if pooling != "mean":
        first = last = first if pooling == "first" else last
    begin, end = first.tolist(), last.tolist()
    order = sorted(range(len(prompts)), key=lambda r: (end[r], r))
    owners, parts = [], []
    for start in range(0, len(order), CHUNK):
        rows = order[start : start + CHUNK]
        act = runner.capture(_cut(batch.select(rows), max(end[r] for r in rows) + 1), [hook])[hook]
        local = [i for i, r in enumerate(rows) for _ in range(begin[r], end[r] + 1)]
        cols = [c for r in rows for c in range(begin[r], end[r] + 1)]
        index = torch.tensor(local, device=act.device)
        parts.append(read_rows(act, index, torch.tensor(cols, device=act.device), meta).float())
        owners += [rows[i] for i in local]
    owner = np.asarray(owners, dtype=np.int64)
    keep = np.argsort(owner, kind="stable")
    x = torch.cat([p.cpu() for p in parts]) if parts else torch.empty(0, 0)
    return owner[keep], x[torch.from_numpy(keep)]


def pool(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The mean of ``values [tokens, ...]`` per prompt ``0..n-1`` (float64 sums); a prompt
    with no token gets zeros."""
    values = np.asarray(values)
    sums = np.zeros((n, *values.shape[1:]), dtype=np.float64)
    np.add.at(sums, owner, values)
    counts = np.bincount(owner, minlength=n).astype(np.float64)
    shape = (n,) + (1,) * (values.ndim - 1)
    return sums / np.maximum(counts, 1).reshape(shape)


def _cut(batch, width: int):
    """``batch`` with every column from ``width`` on removed."""
    return replace(
        batch,
        tokens=batch.tokens[:, :width],
        attention_mask=batch.attention_mask[:, :width],
        lengths=batch.lengths.clamp(max=width),
    )
