"""Circuit scores from discrete SAE codes (O'Neill and Bui 2024, arXiv 2405.12522), numpy only.

A code table holds, for each prompt (row) and head (column), the head's discrete code: the
argmax latent of its SAE at the chosen position (:data:`SILENT` where no latent fires).

* **Node score** of a head: the number of distinct codes it shows on positive prompts and
  never on negative ones (``normalise``: over its distinct codes on both), as the reference
  ``src/node.py``. Its softmax over heads there does not change a ranking, so it is left out.
* **Pair score** of two heads: the number of distinct code pairs ``(c1, c2)`` seen together
  on positives and never on negatives (``normalise``: over the distinct pairs seen on
  positives plus those seen on negatives), as ``src/edge.py``.
* **Edge score** of a head: the sum of its pair scores. The reference's own rule, which
  counts a head's appearances among the first ``k`` heads of the pairs ranked by score, is
  :func:`topk_edge_head_scores`.
* **ROC-AUC** (ties count one half, as ``sklearn.metrics.roc_auc_score``) and the **best F1**
  over thresholds of the head scores against the reference circuit's heads.
* **Random codes** (:func:`permuted_codes`): each head's codes permuted across the positive
  and negative rows independently, so every head keeps its code frequencies but its codes
  say nothing of the label (nor of the other heads' codes).
"""

from __future__ import annotations

import numpy as np

SILENT = -1  # the code of a row where no latent of the head's SAE fires


def argmax_codes(acts: np.ndarray) -> np.ndarray:
    """The discrete code of every row ``[n]`` of latent activations ``[n, d_sae]``."""
    acts = np.asarray(acts)
    codes = acts.argmax(axis=1)
    codes[acts.max(axis=1) <= 0] = SILENT
    return codes


def node_scores(pos: np.ndarray, neg: np.ndarray, normalise: bool = False) -> np.ndarray:
    """Per head (column), distinct codes seen on positives and never on negatives."""
    out = np.zeros(pos.shape[1])
    for h in range(pos.shape[1]):
        seen_pos, seen_neg = set(pos[:, h].tolist()), set(neg[:, h].tolist())
        out[h] = len(seen_pos - seen_neg)
        if normalise:
            out[h] /= max(len(seen_pos | seen_neg), 1)
    return out


def pair_scores(pos: np.ndarray, neg: np.ndarray, normalise: bool = False) -> np.ndarray:
    """``[H, H]`` symmetric: per pair of heads, distinct code pairs seen together on
    positives and never on negatives (zero diagonal)."""
    n_heads = pos.shape[1]
    first, second = np.triu_indices(n_heads, k=1)
    width = int(max(pos.max(initial=0), neg.max(initial=0))) + 2  # codes shifted by one
    base = width * width

    def pair_ids(table: np.ndarray) -> np.ndarray:
        a, b = table[:, first] + 1, table[:, second] + 1
        return np.unique(np.arange(len(first)) * base + a * width + b)

    ids_pos, ids_neg = pair_ids(pos), pair_ids(neg)
    only = ids_pos[~np.isin(ids_pos, ids_neg)]
    counts = np.bincount(only // base, minlength=len(first)).astype(float)
    if normalise:
        seen = np.bincount(ids_pos // base, minlength=len(first))
        seen = seen + np.bincount(ids_neg // base, minlength=len(first))
        counts = counts / np.maximum(seen, 1)
    out = np.zeros((n_heads, n_heads))
    out[first, second] = counts
    return out + out.T


def edge_head_scores(pairs: np.ndarray) -> np.ndarray:
    """A head's edge score: the sum of its pair scores."""
    return pairs.sum(axis=1)


def topk_edge_head_scores(pairs: np.ndarray, k: int) -> np.ndarray:
    """The reference's rule: rank the (ordered) head pairs by score, list their heads in
    that order and count each head's appearances among the first ``k`` (ties broken by
    position, first head first)."""
    flat = pairs.flatten()
    order = np.lexsort((np.arange(flat.size), -flat))
    heads = np.stack(np.unravel_index(order, pairs.shape), axis=1).flatten()[:k]
    return np.bincount(heads, minlength=pairs.shape[0]).astype(float)


def roc_auc(scores: np.ndarray, truth: np.ndarray) -> float | None:
    """Probability that a circuit head outscores a head outside it (ties one half); None
    when either class is empty."""
    from scipy.stats import rankdata

    truth = np.asarray(truth, dtype=bool)
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def best_f1(scores: np.ndarray, truth: np.ndarray) -> tuple[float | None, float | None]:
    """The best F1 (precision and recall of "score >= t") over thresholds ``t``, and the
    reference's variant, the best ``2 TPR (1 - FPR) / (TPR + 1 - FPR)``."""
    truth = np.asarray(truth, dtype=bool)
    if truth.all() or not truth.any():
        return None, None
    f1s, variants = [], []
    for t in np.unique(scores):
        predicted = scores >= t
        tp = int((predicted & truth).sum())
        fp, fn = int((predicted & ~truth).sum()), int((~predicted & truth).sum())
        f1s.append(2 * tp / (2 * tp + fp + fn))
        tpr, tnr = tp / truth.sum(), 1 - fp / (~truth).sum()
        variants.append(2 * tpr * tnr / (tpr + tnr) if tpr + tnr > 0 else 0.0)
    return float(max(f1s)), float(max(variants))


def permuted_codes(
    pos: np.ndarray, neg: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random codes with each head's code frequencies: every column of the stacked table
    permuted on its own, then split back into positive and negative rows."""
    table = np.concatenate([pos, neg])
    shuffled = np.stack([rng.permutation(table[:, h]) for h in range(table.shape[1])], axis=1)
    return shuffled[: len(pos)], shuffled[len(pos) :]


def circuit_metrics(
    pos: np.ndarray, neg: np.ndarray, truth: np.ndarray, normalise: bool = False
) -> dict[str, float | None]:
    """Node and edge AUC and best F1 of one code table against circuit membership."""
    nodes = node_scores(pos, neg, normalise)
    edges = edge_head_scores(pair_scores(pos, neg, normalise))
    node_f1, _ = best_f1(nodes, truth)
    edge_f1, _ = best_f1(edges, truth)
    return {
        "node_auc": roc_auc(nodes, truth),
        "edge_auc": roc_auc(edges, truth),
        "node_best_f1": node_f1,
        "edge_best_f1": edge_f1,
    }
