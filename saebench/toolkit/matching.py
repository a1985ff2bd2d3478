"""Matching two sets of directions: cosine matrices and one-to-one assignment.

Shared by the ground-truth evaluator (SAE decoder against the true features) and the panel
comparison of SAEs (decoder against decoder, encoder against encoder, activation
correlations). :func:`cosines` and :func:`assign` work on a dense matrix; beyond them a
similarity may be a :class:`Rows` (computed a block of rows at a time, never whole):
:func:`mmcs` (mean max both ways) and :func:`match`, exact up to ``max_exact`` entries per
side and approximate beyond (:func:`assign_approx`; its error against exact is measured by
``benchmarks/compare_matching.py`` and given in docs/evaluators/compare.md).

Example:
    >>> sim = cosines(sae_a.W_dec, sae_b.W_dec)          # [n_a, n_b]
    >>> rows, cols = assign(sim)                          # Hungarian, maximising
    >>> float(sim[rows, cols].mean())                     # the matched mean cosine
    >>> m = match(CosineRows(big_a.W_dec, big_b.W_dec))   # approximate above 16384 latents
    >>> m.mean(), m.fraction_above(0.7), m.exact
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


def unit_rows(w: Tensor) -> Tensor:
    """Rows scaled to unit norm (norms clamped at 1e-8, so a zero row stays zero)."""
    w = w.detach().float()
    return w / w.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def cosines(a: Tensor, b: Tensor) -> Tensor:
    """``[n_a, n_b]`` cosine similarities between the rows of ``a`` and of ``b``."""
    return unit_rows(a) @ unit_rows(b).T


def assign(similarity: Tensor) -> tuple[Tensor, Tensor]:
    """The one-to-one assignment of rows to columns that maximises the summed similarity
    (Hungarian; ``min(n_rows, n_cols)`` pairs), as index tensors ``rows, cols``."""
    from scipy.optimize import linear_sum_assignment

    sim = np.asarray(similarity.detach().float().cpu().numpy(), dtype=np.float32)
    rows, cols = linear_sum_assignment(sim, maximize=True)
    return torch.from_numpy(rows.astype(np.int64)), torch.from_numpy(cols.astype(np.int64))


# -- beyond one dense matrix: blockwise similarities, MMCS, approximate matching -----------
# Above this many latents on either side the Hungarian matching is approximate by default:
# a dense 16k x 16k float64 cost matrix is 2 GB and the worst case is cubic (docs/evaluators/
# compare.md has the measured cost and the approximation's error).
MAX_EXACT_LATENTS = 16384
CANDIDATES = 16  # per row and per column, the edges the approximate matching may use
_BLOCK_ROWS = 1024


class Rows:
    """A similarity matrix that is never built whole: ``rows(index)`` gives the float32 rows
    ``index`` (``[len(index), n_cols]``). Subclasses compute them on demand."""

    n_rows: int
    n_cols: int

    def rows(self, index: Tensor) -> Tensor:
        raise NotImplementedError


class DenseRows(Rows):
    """Rows of a matrix that is already in memory."""

    def __init__(self, matrix: Tensor) -> None:
        self.matrix = matrix.detach().float()
        self.n_rows, self.n_cols = self.matrix.shape

    def rows(self, index: Tensor) -> Tensor:
        return self.matrix[index]


class CosineRows(Rows):
    """Cosines between the rows of ``a`` and of ``b`` (``absolute``: their magnitude,
    as SynthSAEBench's MCC; a latent's direction has a sign, so signed is the default)."""

    def __init__(self, a: Tensor, b: Tensor, absolute: bool = False) -> None:
        self.a, self.b, self.absolute = unit_rows(a), unit_rows(b), absolute
        self.n_rows, self.n_cols = self.a.shape[0], self.b.shape[0]

    def rows(self, index: Tensor) -> Tensor:
        block = self.a[index] @ self.b.T
        return block.abs() if self.absolute else block


class SubRows(Rows):
    """The rows ``row_index`` and columns ``col_index`` of another similarity."""

    def __init__(self, parent: Rows, row_index: Tensor, col_index: Tensor) -> None:
        self.parent, self.row_index, self.col_index = parent, row_index, col_index
        self.n_rows, self.n_cols = len(row_index), len(col_index)

    def rows(self, index: Tensor) -> Tensor:
        return self.parent.rows(self.row_index[index])[:, self.col_index]


def as_rows(similarity: Tensor | Rows) -> Rows:
    return similarity if isinstance(similarity, Rows) else DenseRows(similarity)


def _blocks(n: int, size: int = _BLOCK_ROWS):
    for start in range(0, n, size):
        yield torch.arange(start, min(n, start + size))


def max_both_ways(similarity: Tensor | Rows) -> tuple[Tensor, Tensor]:
    """Each row's maximum over the columns and each column's maximum over the rows."""
    sim = as_rows(similarity)
    row_max = torch.empty(sim.n_rows)
    col_max = torch.full((sim.n_cols,), -math.inf)
    for index in _blocks(sim.n_rows):
        block = sim.rows(index)
        row_max[index] = block.max(dim=1).values
        col_max = torch.maximum(col_max, block.max(dim=0).values)
    return row_max, col_max


def mmcs(similarity: Tensor | Rows) -> tuple[float, float]:
    """Mean max cosine both ways: ``(mean_i max_j S_ij, mean_j max_i S_ij)`` (A->B, B->A)."""
    row_max, col_max = max_both_ways(similarity)
    return float(row_max.mean()), float(col_max.mean())


@dataclass
class Matching:
    """A one-to-one matching: ``rows[k]`` is paired with ``cols[k]`` at similarity
    ``values[k]``; ``exact`` says whether it is the Hungarian optimum."""

    rows: Tensor
    cols: Tensor
    values: Tensor
    exact: bool

    def mean(self) -> float:
        return float(self.values.mean()) if len(self.values) else math.nan

    def fraction_above(self, threshold: float) -> float:
        """Fraction of the matched pairs whose similarity exceeds ``threshold``."""
        return float((self.values > threshold).float().mean()) if len(self.values) else math.nan

    def partner_of_rows(self, n_rows: int) -> Tensor:
        """Each row's partner column (-1: unmatched), indexed by row."""
        partner = torch.full((n_rows,), -1, dtype=torch.int64)
        partner[self.rows] = self.cols
        return partner


def match(
    similarity: Tensor | Rows,
    max_exact: int = MAX_EXACT_LATENTS,
    candidates: int = CANDIDATES,
) -> Matching:
    """The maximum-similarity one-to-one matching of ``min(n_rows, n_cols)`` pairs: exact
    (:func:`assign`) while both sides have at most ``max_exact`` entries, else
    :func:`assign_approx` with ``candidates`` edges per row and per column.

    Example:
        >>> m = match(CosineRows(sae_a.W_dec, sae_b.W_dec))
        >>> m.mean(), m.fraction_above(0.7), m.exact
    """
    return match_and_max(similarity, max_exact, candidates)[0]


def match_and_max(
    similarity: Tensor | Rows,
    max_exact: int = MAX_EXACT_LATENTS,
    candidates: int = CANDIDATES,
) -> tuple[Matching, Tensor, Tensor]:
    """:func:`match` and :func:`max_both_ways` from one pass over the similarities."""
    sim = as_rows(similarity)
    if max(sim.n_rows, sim.n_cols) <= max_exact:
        dense = sim.rows(torch.arange(sim.n_rows))
        rows, cols = assign(dense)
        matching = Matching(rows, cols, dense[rows, cols], exact=True)
        return matching, dense.max(dim=1).values, dense.max(dim=0).values
    edges = candidate_edges(sim, candidates)
    return _approx(sim, edges, candidates, max_exact), edges.row_max, edges.col_max


def assign_approx(
    similarity: Tensor | Rows,
    candidates: int = CANDIDATES,
    max_exact: int = MAX_EXACT_LATENTS,
) -> tuple[Tensor, Tensor]:
    """An approximate maximum-similarity matching of ``min(n_rows, n_cols)`` pairs, without
    the dense matrix: the exact optimum over a sparse graph that keeps each row's and each
    column's ``candidates`` most similar partners (LAPJVsp, ``scipy.sparse.csgraph.
    min_weight_full_bipartite_matching``; a row may stay unmatched at similarity 0, so the
    graph always has a full matching), then the rows and columns left over matched among
    themselves the same way (exactly once they fit ``max_exact``).

    Example:
        >>> rows, cols = assign_approx(CosineRows(w_dec_a, w_dec_b), candidates=16)
    """
    sim = as_rows(similarity)
    matching = _approx(sim, candidate_edges(sim, candidates), candidates, max_exact)
    return matching.rows, matching.cols


def _approx(sim: Rows, edges: Edges, candidates: int, max_exact: int) -> Matching:
    need = min(sim.n_rows, sim.n_cols)
    rows, cols, values = _sparse_assignment(sim, edges)
    if len(rows) < need:
        free_rows = _complement(rows, sim.n_rows)
        free_cols = _complement(cols, sim.n_cols)
        sub = SubRows(sim, free_rows, free_cols)
        if len(rows) == 0:  # nothing better than 0 anywhere: any pairing is as good
            index = torch.arange(need)
            left = Matching(index, index, sub.rows(index)[index, index], exact=False)
        else:
            left = match(sub, max_exact, candidates)
        rows = torch.cat([rows, free_rows[left.rows]])
        cols = torch.cat([cols, free_cols[left.cols]])
        values = torch.cat([values, left.values])
    order = rows.argsort()
    return Matching(rows[order], cols[order], values[order], exact=False)


@dataclass
class Edges:
    """The edges the approximate matching may use, and each row's and column's maximum."""

    rows: Tensor
    cols: Tensor
    values: Tensor
    row_max: Tensor
    col_max: Tensor


def candidate_edges(sim: Rows, candidates: int) -> Edges:
    """The edges kept: each row's ``candidates`` largest similarities and each column's,
    without repeats (found a block of rows at a time)."""
    per_row, per_col = min(candidates, sim.n_cols), min(candidates, sim.n_rows)
    edge_rows, edge_cols, edge_vals = [], [], []
    col_vals = torch.full((0, sim.n_cols), -math.inf)
    col_rows = torch.zeros((0, sim.n_cols), dtype=torch.int64)
    for index in _blocks(sim.n_rows):
        block = sim.rows(index)
        values, cols = block.topk(per_row, dim=1)
        edge_rows.append(index[:, None].expand_as(cols).reshape(-1))
        edge_cols.append(cols.reshape(-1))
        edge_vals.append(values.reshape(-1))
        top = block.T.topk(min(per_col, len(index)), dim=1)  # [n_cols, k]
        col_vals = torch.cat([col_vals, top.values.T])
        col_rows = torch.cat([col_rows, index[top.indices.T]])
        keep = col_vals.topk(min(per_col, col_vals.shape[0]), dim=0).indices
        col_vals, col_rows = col_vals.gather(0, keep), col_rows.gather(0, keep)
    row_max = torch.cat([v[::per_row] for v in edge_vals])  # topk is sorted: first is max
    edge_rows.append(col_rows.reshape(-1))
    edge_cols.append(torch.arange(sim.n_cols).expand_as(col_rows).reshape(-1))
    edge_vals.append(col_vals.reshape(-1))
    rows, cols, vals = torch.cat(edge_rows), torch.cat(edge_cols), torch.cat(edge_vals)
    _, first = _unique_first(rows * sim.n_cols + cols)
    return Edges(rows[first], cols[first], vals[first], row_max, col_vals[0])


def _unique_first(keys: Tensor) -> tuple[Tensor, Tensor]:
    """Distinct keys and the index of one occurrence of each."""
    unique, inverse = torch.unique(keys, return_inverse=True)
    first = torch.full((len(unique),), len(keys), dtype=torch.int64)
    first.scatter_reduce_(0, inverse, torch.arange(len(keys)), reduce="amin")
    return unique, first


def _sparse_assignment(sim: Rows, edges: Edges) -> tuple[Tensor, Tensor, Tensor]:
    """The best matching over the given edges, each row free to stay unmatched (a dummy
    column of its own at similarity 0): only edges of positive similarity are ever used.
    Returns rows, columns and similarities of the real pairs."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    n_rows, n_cols = sim.n_rows, sim.n_cols
    values = edges.values.double().numpy()
    # weights must be nonzero: every similarity is shifted to at least 1, the dummy (0) too
    shift = 1.0 + float(np.abs(values).max(initial=0.0))
    dummy = np.arange(n_rows)
    graph = csr_matrix(
        (
            np.concatenate([values + shift, np.full(n_rows, shift)]),
            (
                np.concatenate([edges.rows.numpy(), dummy]),
                np.concatenate([edges.cols.numpy(), dummy + n_cols]),
            ),
        ),
        shape=(n_rows, n_cols + n_rows),
    )
    row_ind, col_ind = min_weight_full_bipartite_matching(graph, maximize=True)
    real = col_ind < n_cols
    rows, cols = row_ind[real].astype(np.int64), col_ind[real].astype(np.int64)
    raw = csr_matrix(
        (edges.values.numpy(), (edges.rows.numpy(), edges.cols.numpy())), (n_rows, n_cols)
    )
    matched = np.asarray(raw[rows, cols]).ravel()  # the similarities as given, not shifted back
    return torch.from_numpy(rows), torch.from_numpy(cols), torch.from_numpy(matched)


def _complement(taken: Tensor, n: int) -> Tensor:
    free = torch.ones(n, dtype=torch.bool)
    free[taken] = False
    return free.nonzero()[:, 0]
