"""Retrieval fidelity of substituted vectors, per query (numpy only, float64).

Definitions (``shared/references/beyond.md`` section 2.2): retrieval ranks the corpus by the
cosine similarity of L2-normalised vectors; ``R_k(q, C)`` is the top ``k``. For a variant
(reconstructed queries, reconstructed corpus, both, or the sparse codes) and each query:

- ``overlap`` = ``|R_k(q, C) ∩ R_k(variant)| / k``;
- ``recall_top1`` = 1 when the original nearest document is in the variant's top ``k``;
- ``ndcg`` = nDCG@k of the variant's ranking with graded relevance = the original cosine
  clipped at 0, normalised by the original ranking's DCG (linear gains, ``log2(rank + 1)``
  discounts, as ``sklearn.metrics.ndcg_score``);
- ``spearman`` = Spearman's rho between original and variant similarities over the original
  top ``top`` documents.

Ties in a top-k ranking are broken by document index (a stable sort); Spearman's rho gives
tied similarities their mean rank.

Example:
    >>> per_query = retrieval_scores(q, corpus, q_hat, corpus_hat, k=10, top=100)
    >>> float(per_query["overlap"].mean())
    1.0
"""

from __future__ import annotations

import numpy as np

MEASURES = ("overlap", "recall_top1", "ndcg", "spearman")


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (a zero row stays zero)."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def cosine_matrix(queries: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """``[n_queries, n_docs]`` cosine similarities."""
    return unit_rows(queries) @ unit_rows(docs).T


def top_indices(sims: np.ndarray, k: int) -> np.ndarray:
    """Per row, the indices of the ``k`` largest values, best first (ties: lower index)."""
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


def overlap_at_k(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Per row, the share of ``truth``'s indices that ``found`` also has."""
    k = truth.shape[1]
    return np.array([len(set(t) & set(f)) / k for t, f in zip(truth, found, strict=True)])


def recall_top1(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Per row, 1.0 when the true nearest index (``truth[:, 0]``) is among ``found``."""
    return (found == truth[:, :1]).any(axis=1).astype(np.float64)


def ndcg_at_k(true_sims: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Per row, nDCG of the ranking ``found`` with gains = true similarity clipped at 0."""
    k = found.shape[1]
    gains = np.clip(true_sims, 0.0, None)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (np.take_along_axis(gains, found, axis=1) * discount).sum(1)
    ideal = (-np.sort(-gains, axis=1)[:, :k] * discount).sum(1)
    return np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, ties sharing their mean rank (as scipy's ``spearmanr``)."""
    from scipy.stats import rankdata

    return rankdata(values, method="average", axis=-1)


def spearman_top(true_sims: np.ndarray, other_sims: np.ndarray, top: int) -> np.ndarray:
    """Per row, Spearman's rho of the two similarity vectors over the true top ``top``."""
    docs = top_indices(true_sims, top)
    a = _ranks(np.take_along_axis(true_sims, docs, axis=1))
    b = _ranks(np.take_along_axis(other_sims, docs, axis=1))
    a -= a.mean(1, keepdims=True)
    b -= b.mean(1, keepdims=True)
    denom = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return np.divide((a * b).sum(1), denom, out=np.zeros(len(a)), where=denom > 0)


def retrieval_scores(
    queries: np.ndarray,
    docs: np.ndarray,
    queries_variant: np.ndarray,
    docs_variant: np.ndarray,
    *,
    k: int = 10,
    top: int = 100,
    truth: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Per-query :data:`MEASURES` of retrieving with the variants against the originals.

    ``truth`` is the originals' (similarities, top-``k`` indices), passed in when several
    variants share it. The variants may have another width (the sparse codes).
    """
    true_sims, true_top = truth if truth is not None else original_ranking(queries, docs, k)
    sims = cosine_matrix(queries_variant, docs_variant)
    found = top_indices(sims, k)
    return {
        "overlap": overlap_at_k(true_top, found),
        "recall_top1": recall_top1(true_top, found),
        "ndcg": ndcg_at_k(true_sims, found),
        "spearman": spearman_top(true_sims, sims, min(top, docs.shape[0])),
    }


def original_ranking(queries: np.ndarray, docs: np.ndarray, k: int):
    """(similarities, top-``k`` indices) of the original vectors."""
    sims = cosine_matrix(queries, docs)
    return sims, top_indices(sims, k)
