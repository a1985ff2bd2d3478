"""Activations of a task's prompts at one token, for probing: one capture per prompt.

Each split's prompts are tokenised once, reduced to one example per distinct (tokens up to
the probed position, labels) — the model is causal, so prompts that agree up to there have
the same activation there — and run through the model only up to the hook's block.

Example:
    >>> split = capture_split(runner, model, task, "test", sae.meta, "entity", "last", ["country"])
    >>> split.x.shape, split.labels["country"][:3]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Prompts per model call. A constant, not a setting: the numbers must not depend on it.
_CHUNK = 256


@dataclass(frozen=True)
class SplitActivations:
    """One split's activations ``x`` ``[n, d_in]`` (float32, as the SAE reads the hook)
    and each attribute's value per row (an object array; None where a prompt has none)."""

    x: np.ndarray
    labels: dict[str, np.ndarray]
    n_prompts: int  # before removing duplicates


def capture_split(
    runner,
    model,
    task,
    split: str,
    meta,
    span: str,
    token: str,
    attributes: Sequence[str],
) -> SplitActivations:
    """The activations at the ``token`` (``"first"``/``"last"``) of ``span`` of every distinct
    prompt of ``split``, at the hook ``meta`` reads (``meta.hook_name``, head included)."""
    import torch

    from saebench.models.edits import read_rows
    from saebench.models.prompts import Prompt, make_batch

    prompts = task.prompts(split)
    batch = make_batch(model, [Prompt(p.text, p.spans) for p in prompts], device=model.cfg.device)
    positions = batch.first(span) if token == "first" else batch.last(span)
    rows = _distinct(batch.tokens, positions, prompts, attributes)
    # Prompts sorted by position, each chunk cut after its last probed token: a causal model
    # needs nothing later, and a city's facts are long after its name.
    at = positions.tolist()
    order = sorted(rows, key=lambda r: (at[r], r))
    x = torch.empty(len(rows), meta.d_in, dtype=torch.float32)
    place = {row: i for i, row in enumerate(rows)}
    for start in range(0, len(order), _CHUNK):
        chunk_rows = order[start : start + _CHUNK]
        chunk = batch.select(chunk_rows)
        cols = positions[torch.tensor(chunk_rows, device=positions.device)]
        chunk = _cut(chunk, int(cols.max()) + 1)
        act = runner.capture(chunk, [meta.hook_name])[meta.hook_name]
        idx = torch.arange(len(chunk_rows), device=act.device)
        values = read_rows(act, idx, cols.to(act.device), meta).float().cpu()
        x[[place[r] for r in chunk_rows]] = values
    labels = {
        a: np.array([prompts[r].attributes.get(a) for r in rows], dtype=object) for a in attributes
    }
    return SplitActivations(x=x.numpy(), labels=labels, n_prompts=len(prompts))


def _cut(batch, width: int):
    """``batch`` with every column from ``width`` on removed."""
    from dataclasses import replace

    return replace(
        batch,
        tokens=batch.tokens[:, :width],
        attention_mask=batch.attention_mask[:, :width],
        lengths=batch.lengths.clamp(max=width),
    )


def _distinct(tokens, positions, prompts, attributes) -> list[int]:
    """The first row of each distinct (tokens up to the position, labels)."""
    seen: set = set()
    keep = []
    ids = tokens.tolist()
    for row, pos in enumerate(positions.tolist()):
        labels = tuple(prompts[row].attributes.get(a) for a in attributes)
        key = (tuple(ids[row][: pos + 1]), labels)
        if key not in seen:
            seen.add(key)
            keep.append(row)
    return keep
