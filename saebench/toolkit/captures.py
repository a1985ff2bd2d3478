"""A task split's activations at one token as arrays, and an SAE's codes of them: the capture
that the probing evaluators (``sparse_probing``, ``sae_probes``) share.

:func:`capture_split` reads each distinct prompt of a split once at a position of the hook
(:func:`saebench.toolkit.sites.distinct_activations`) and keeps each row's value of the
attributes asked for; :func:`encode_rows` turns rows into an SAE's codes in fixed-size
chunks (memory only: codes are per row, so the chunk size changes no number).

Example:
    >>> split = capture_split(runner, task.prompts("train"), sae.meta.hook_name,
    ...                       Position(LAST), ["glue_cola"])
    >>> codes = encode_rows(sae, split.read(sae.meta.hook_head_index))   # [n, d_sae]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from saebench.toolkit.sites import Position

ENCODE_ROWS = 4096  # rows per SAE encode call


@dataclass(frozen=True)
class Split:
    """One split's activations ``x`` (float32; ``[n, d]``, or ``[n, heads, d_head]`` at an
    attention hook) and each attribute's value per row (an object array; None where a prompt
    has none)."""

    x: np.ndarray
    labels: dict[str, np.ndarray]
    n_prompts: int  # before removing duplicates

    def read(self, head: int | None) -> np.ndarray:
        """``[n, d_in]`` as an SAE reading ``head`` (None: every head) sees the hook."""
        if self.x.ndim == 2:
            return self.x
        if head is not None:
            return np.ascontiguousarray(self.x[:, head])
        return self.x.reshape(len(self.x), -1)


def capture_split(
    runner, prompts: Sequence, hook: str, position: Position, attributes: Sequence[str]
) -> Split:
    """The prompts' activations at ``hook``, one row per distinct (prefix, labels)."""
    from saebench.toolkit.sites import distinct_activations

    rows, x = distinct_activations(
        runner,
        prompts,
        hook,
        position,
        key=lambda p: tuple(p.attributes.get(a) for a in attributes),
    )
    labels = {
        a: np.array([prompts[r].attributes.get(a) for r in rows], dtype=object) for a in attributes
    }
    return Split(x.numpy(), labels, len(prompts))


def encode_rows(sae, x: np.ndarray) -> np.ndarray:
    """The SAE's codes of rows ``x`` (float32 on the CPU)."""
    import torch

    device = sae.W_dec.device
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), ENCODE_ROWS):
            rows = torch.from_numpy(x[start : start + ENCODE_ROWS]).to(device)
            parts.append(sae.encode(rows).float().cpu())
    if not parts:
        return np.zeros((0, sae.W_dec.shape[0]), dtype=np.float32)
    return torch.cat(parts).numpy()
