"""Weight-based head attribution of a dictionary on concatenated ``hook_z`` (numpy only).

Definitions (Kissane et al. 2024, arXiv 2406.17759; code ``ckkissane/attention-output-saes``
``top_feature_analysis.py::get_all_decoder_weights_distributions``):

* a decoder row ``W_dec[f]`` of width ``n_heads * d_head`` splits head-major into blocks
  ``W_dec[f, h]`` of width ``d_head`` (hook_z's ``[head, d_head]`` flattened);
* the share of head ``h`` in latent ``f`` is ``s[f, h] = |W_dec[f, h]| / sum_h' |W_dec[f, h']|``
  (L2 norms of the blocks, normalised to sum to one);
* each head is read through its ``top_k`` latents by ``s[:, h]`` (the paper's top 10).

The paper then read each head's top 10 by hand and called a head polysemantic when they
had several unrelated roles. Here that judgement is replaced by a rule on the weights
(:func:`read_head`): of the head's top_k latents, those attributed to it
(``s[f, h] >= threshold``) are its roles' members, and two of them share a role when their
blocks in that head have cosine ``>= same_role_cosine``; roles are the connected groups. A
head is *polysemantic* with two or more roles, *monosemantic* with one, *unattributed* with
none (no latent writes mainly through it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STATUSES = ("polysemantic", "monosemantic", "unattributed")


def head_shares(W_dec: np.ndarray, n_heads: int) -> np.ndarray:
    """``s[f, h]`` ``[n_latents, n_heads]``: each head's share of the row's block norms
    (a zero row has zero shares)."""
    norms = head_norms(W_dec, n_heads)
    total = norms.sum(axis=1, keepdims=True)
    return np.divide(norms, total, out=np.zeros_like(norms), where=total > 0)


def head_norms(W_dec: np.ndarray, n_heads: int) -> np.ndarray:
    rows = np.asarray(W_dec, dtype=np.float64)
    if rows.shape[1] % n_heads:
        raise ValueError(f"decoder width {rows.shape[1]} is not a multiple of {n_heads} heads")
    return np.linalg.norm(rows.reshape(len(rows), n_heads, -1), axis=-1)


@dataclass
class HeadReading:
    """One head read through its top latents (indices into the rows given)."""

    head: int
    top: list[int]  # the top_k latents by share, largest first
    top_shares: list[float]
    roles: list[list[int]]  # attributed top latents, grouped into roles

    @property
    def status(self) -> str:
        return STATUSES[0] if len(self.roles) > 1 else STATUSES[1 if self.roles else 2]


def read_head(
    W_dec: np.ndarray, shares: np.ndarray, head: int, top_k: int, threshold: float, cosine: float
) -> HeadReading:
    """The head's top_k latents by share, and the roles of those attributed to it."""
    column = shares[:, head]
    k = min(top_k, len(column))
    top = np.argpartition(-column, k - 1)[:k] if k < len(column) else np.arange(len(column))
    top = top[np.argsort(-column[top], kind="stable")]
    members = [int(f) for f in top if column[f] >= threshold]
    return HeadReading(
        head=head,
        top=[int(f) for f in top],
        top_shares=[float(column[f]) for f in top],
        roles=_roles(_block(W_dec, members, head, shares.shape[1]), members, cosine),
    )


def _block(W_dec: np.ndarray, rows: list[int], head: int, n_heads: int) -> np.ndarray:
    width = W_dec.shape[1] // n_heads
    block = np.asarray(W_dec[rows, head * width : (head + 1) * width], dtype=np.float64)
    norms = np.linalg.norm(block, axis=1, keepdims=True)
    return np.divide(block, norms, out=np.zeros_like(block), where=norms > 0)


def _roles(unit: np.ndarray, members: list[int], cosine: float) -> list[list[int]]:
    """Connected groups of ``members`` under ``cos >= cosine`` (union-find)."""
    parent = list(range(len(members)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    linked = unit @ unit.T >= cosine - 1e-9
    for i, j in zip(*np.nonzero(np.triu(linked, 1)), strict=True):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i, latent in enumerate(members):
        groups.setdefault(root(i), []).append(latent)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def read_heads(
    W_dec: np.ndarray, n_heads: int, top_k: int, threshold: float, cosine: float
) -> list[HeadReading]:
    shares = head_shares(W_dec, n_heads)
    return [read_head(W_dec, shares, h, top_k, threshold, cosine) for h in range(n_heads)]


def weight_metrics(
    W_dec: np.ndarray, n_heads: int, top_k: int, threshold: float, cosine: float
) -> dict[str, float]:
    """The weight-based metrics of the rows of ``W_dec`` (the alive latents)."""
    shares = head_shares(W_dec, n_heads)
    readings = [read_head(W_dec, shares, h, top_k, threshold, cosine) for h in range(n_heads)]
    statuses = [r.status for r in readings]
    top = shares.max(axis=1)
    squares = (shares**2).sum(axis=1)
    effective = np.divide(1.0, squares, out=np.zeros_like(squares), where=squares > 0)
    return {
        "polysemantic_head_fraction": statuses.count(STATUSES[0]) / n_heads,
        "monosemantic_head_fraction": statuses.count(STATUSES[1]) / n_heads,
        "unattributed_head_fraction": statuses.count(STATUSES[2]) / n_heads,
        "single_head_latent_fraction": float((top >= threshold).mean()),
        "mean_max_head_share": float(top.mean()),
        "mean_effective_heads": float(effective.mean()),
    }


WEIGHT_METRICS = (
    "polysemantic_head_fraction",
    "monosemantic_head_fraction",
    "unattributed_head_fraction",
    "single_head_latent_fraction",
    "mean_max_head_share",
    "mean_effective_heads",
)
