"""Quasi-orthogonality of a decoder (Lee et al. 2025, arXiv 2503.24277): statistics of the
off-diagonal entries of ``G = U U^T``, ``U`` the decoder rows scaled to unit norm, computed
a block of rows at a time so a 65k-latent dictionary never holds its ``h x h`` Gram matrix.

* ``max_abs_cos``  = max_{i != j} |G_ij| (the smallest epsilon for which the dictionary is
  epsilon-quasi-orthogonal);
* ``mean_abs_cos`` = mean_{i != j} |G_ij|;
* ``mean_max_abs_cos`` = mean_i max_{j != i} |G_ij| (each latent's nearest other latent).

A zero decoder row has cosine 0 with every row. The null is a dictionary of ``h`` random unit
rows in ``d`` dimensions: its mean ``|cos|`` has the closed form
``E|t| = Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2))`` (``(t+1)/2 ~ Beta((d-1)/2, (d-1)/2)``);
its maxima come from one seeded random dictionary run through the same code.

Example:
    >>> stats = offdiagonal_stats(sae.W_dec)  # {"max_abs_cos": ..., "mean_abs_cos": ...}
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# entries of one block of the Gram matrix (float32): 32M entries = 128 MiB
BLOCK_ENTRIES = 1 << 25


def unit_rows(weights: Tensor) -> Tensor:
    """Rows scaled to unit norm (float32); a zero row stays zero."""
    rows = weights.detach().float().cpu()
    return rows / rows.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def offdiagonal_stats(weights: Tensor, block_rows: int | None = None) -> dict[str, float]:
    """Max, mean and mean-per-row-max of ``|cos|`` between distinct rows, blockwise."""
    units = unit_rows(weights)
    h = units.shape[0]
    if h < 2:
        return {"max_abs_cos": 0.0, "mean_abs_cos": 0.0, "mean_max_abs_cos": 0.0}
    step = block_rows or max(1, BLOCK_ENTRIES // h)
    total, top, row_max_sum = 0.0, 0.0, 0.0
    for start in range(0, h, step):
        block = (units[start : start + step] @ units.T).abs_()
        rows = torch.arange(block.shape[0])
        block[rows, rows + start] = 0.0  # the diagonal (|cos| >= 0, so 0 never wins a max)
        row_max = block.max(dim=1).values
        total += float(block.sum(dtype=torch.float64))
        top = max(top, float(row_max.max()))
        row_max_sum += float(row_max.sum(dtype=torch.float64))
    return {
        "max_abs_cos": top,
        "mean_abs_cos": total / (h * (h - 1)),
        "mean_max_abs_cos": row_max_sum / h,
    }


def dense_offdiagonal_stats(weights: Tensor) -> dict[str, float]:
    """The same statistics from the whole Gram matrix at once (the reference for tests)."""
    units = unit_rows(weights).double()
    h = units.shape[0]
    gram = (units @ units.T).abs()
    off = gram[~torch.eye(h, dtype=torch.bool)].reshape(h, h - 1)
    return {
        "max_abs_cos": float(off.max()),
        "mean_abs_cos": float(off.mean()),
        "mean_max_abs_cos": float(off.max(dim=1).values.mean()),
    }


def random_unit_rows(h: int, d: int, seed: int) -> Tensor:
    """``h`` rows drawn uniformly from the unit sphere in ``d`` dimensions (seeded)."""
    generator = torch.Generator().manual_seed(seed)
    return unit_rows(torch.randn(h, d, generator=generator))


def expected_abs_cos(d: int) -> float:
    """E|cos| between two independent uniform unit vectors in ``d`` dimensions."""
    return math.exp(math.lgamma(d / 2) - math.lgamma((d + 1) / 2)) / math.sqrt(math.pi)


def approx_max_abs_cos(h: int, d: int) -> float:
    """The |cos| exceeded with probability ``1 / pairs`` by one pair of random unit vectors:
    the typical maximum over the ``h (h-1) / 2`` pairs if they were independent."""
    from scipy.stats import beta

    pairs = h * (h - 1) / 2
    if pairs < 1 or d < 2:
        return 1.0
    a = (d - 1) / 2
    # P(|t| > m) = 2 P(B > (1 + m) / 2) with B ~ Beta(a, a)
    return float(2 * beta.isf(1 / (2 * pairs), a, a) - 1)
