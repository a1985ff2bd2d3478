"""Activations of task prompts at one (hook, position): the one tool, and the one vocabulary
for "which token", that every prompt evaluator uses.

A :class:`Position` names a span of the prompts and which of its tokens (``"first"`` or
``"last"``), or :data:`LAST`: each prompt's last real token. :func:`activations_at`
tokenises the prompts once and runs them through the model only up to the hook's block, in
chunks of a constant size: prompts sorted by column, each chunk cut after its last read
column (the model is causal, so nothing later matters). The rows come back in the prompts'
order, as the SAE reads the hook (its head, when ``meta`` names one), float32 on the CPU.

:func:`distinct_activations` does the same for the first prompt of each distinct (tokens up
to the column, key): prompts that agree up to there have the same activation there.

Example:
    >>> from saebench.toolkit.sites import LAST, Position, activations_at, default_position
    >>> position = Position("entity", token="last")
    >>> position.check(prompts, who="my_eval: task 'cities'")
    >>> x = activations_at(runner, prompts, sae.meta.hook_name, position, sae.meta)  # [n, d]
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from saebench.errors import SaebenchError

if TYPE_CHECKING:  # pragma: no cover
    from torch import Tensor

    from saebench.models.prompts import PromptBatch

LAST = "last"  # the position name of each prompt's last real token
TOKENS = ("first", "last")

# Prompts per model call. A constant, not a setting: no number may depend on it.
CHUNK = 256


@dataclass(frozen=True)
class Position:
    """Which token of each prompt: the ``token`` of the span ``span``, or :data:`LAST`."""

    span: str
    token: Literal["first", "last"] = "last"

    def __post_init__(self) -> None:
        if self.token not in TOKENS:
            raise SaebenchError(f"token must be 'first' or 'last', not {self.token!r}")

    def __str__(self) -> str:
        return self.span if self.span == LAST else f"{self.span}:{self.token}"

    def columns(self, batch: PromptBatch) -> Tensor:
        """Each example's column ``[batch]``."""
        if self.span == LAST:
            return batch.ends
        return batch.first(self.span) if self.token == "first" else batch.last(self.span)

    def check(self, prompts: Sequence, who: str) -> None:
        """A clear error when the prompts name no span ``self.span``."""
        if self.span == LAST or not prompts:
            return
        spans = prompts[0].spans
        if self.span not in spans:
            known = ", ".join(sorted(spans)) or "none"
            raise SaebenchError(
                f"{who}: the prompts have no span {self.span!r}; set position to one of {known} "
                f"or {LAST!r} (each prompt's last token)"
            )


def default_position(prompts: Sequence) -> Position:
    """The span that ends at the end of the text (IOI's ``end``), else :data:`LAST`."""
    if prompts:
        p = prompts[0]
        for name, (_, end) in sorted(p.spans.items()):
            if end >= len(p.text.rstrip()):
                return Position(name)
    return Position(LAST)


def tokenise(runner, prompts: Sequence) -> PromptBatch:
    """The prompts (text and spans; answers left out) as one batch on the model's device."""
    from saebench.models.prompts import Prompt, make_batch

    model = runner.model
    return make_batch(model, [Prompt(p.text, p.spans) for p in prompts], device=model.cfg.device)


def activations_at(
    runner, prompts: Sequence, hook: str, position: Position, meta=None, *, chunk: int = CHUNK
) -> Tensor:
    """``[n, d]`` float32 at each prompt's column of ``hook``, as the SAE of ``meta`` reads
    it (head included; the hook's full trailing shape when ``meta`` is None). No prompts:
    ``[0, meta.d_in]`` (``[0, 0]`` without ``meta``)."""
    if not prompts:
        return _empty(meta)
    batch = tokenise(runner, prompts)
    return read_batch(runner, batch, range(len(batch)), hook, position, meta, chunk=chunk)


def distinct_activations(
    runner,
    prompts: Sequence,
    hook: str,
    position: Position,
    meta=None,
    key: Callable[[object], Hashable] | None = None,
) -> tuple[list[int], Tensor]:
    """``(rows, x)``: the first prompt of each distinct (tokens up to the column, ``key(prompt)``)
    and its activations ``[len(rows), d]``, as :func:`activations_at` reads them."""
    if not prompts:
        return [], _empty(meta)
    batch = tokenise(runner, prompts)
    rows = distinct_rows(batch, position.columns(batch), [key(p) if key else None for p in prompts])
    return rows, read_batch(runner, batch, rows, hook, position, meta)


def distinct_rows(batch: PromptBatch, columns: Tensor, keys: Sequence[Hashable]) -> list[int]:
    """The first row of each distinct (tokens up to its column, ``keys[row]``)."""
    seen: set = set()
    keep = []
    ids = batch.tokens.tolist()
    for row, col in enumerate(columns.tolist()):
        signature = (tuple(ids[row][: col + 1]), keys[row])
        if signature not in seen:
            seen.add(signature)
            keep.append(row)
    return keep


def read_batch(
    runner,
    batch: PromptBatch,
    rows: Sequence[int],
    hook: str,
    position: Position,
    meta=None,
    *,
    chunk: int = CHUNK,
) -> Tensor:
    """``[len(rows), d]`` float32: the activations of ``batch``'s examples ``rows`` at their
    column, in the order of ``rows``."""
    import torch

    from saebench.models.edits import read_rows

    rows = list(rows)
    columns = position.columns(batch)
    at = columns.tolist()
    # Sorted by column so that each chunk is cut short: a city's facts come long after its name.
    order = sorted(rows, key=lambda r: (at[r], r))
    place = {row: i for i, row in enumerate(rows)}
    x = None
    for start in range(0, len(order), chunk):
        chunk_rows = order[start : start + chunk]
        part = batch.select(chunk_rows)
        cols = columns[torch.tensor(chunk_rows, device=columns.device)]
        part = _cut(part, int(cols.max()) + 1)
        act = runner.capture(part, [hook])[hook]
        index = torch.arange(len(chunk_rows), device=act.device)
        values = read_rows(act, index, cols.to(act.device), meta).float().cpu()
        if x is None:
            x = torch.empty(len(rows), *values.shape[1:], dtype=torch.float32)
        x[[place[r] for r in chunk_rows]] = values
    return _empty(meta) if x is None else x


def _empty(meta) -> Tensor:
    import torch

    return torch.empty(0, meta.d_in if meta is not None else 0, dtype=torch.float32)


def _cut(batch: PromptBatch, width: int) -> PromptBatch:
    """``batch`` with every column from ``width`` on removed."""
    return replace(
        batch,
        tokens=batch.tokens[:, :width],
        attention_mask=batch.attention_mask[:, :width],
        lengths=batch.lengths.clamp(max=width),
    )
