"""How well single latents pick out attribute values: precision, recall and F1 of "the latent
is active" against "the prompt has this value", and the two failure patterns of Makelov,
Lange and Nanda (2024), counted.

For latent ``j`` and value ``v`` (of one attribute) over prompts ``p``::

    precision = |active_j & v| / |active_j|,  recall = |active_j & v| / |v|,
    F1 = 2 |active_j & v| / (|active_j| + |v|)

* **covered**: some latent has F1 >= ``threshold`` for the value;
* **occluded** value (of attribute ``a``): its best latent is not about it but about a
  stronger attribute ``b`` (larger mean supervised-code norm): that latent's best value
  belongs to ``b``, scores F1 >= ``threshold`` there, and below ``threshold`` for the value;
* **over-split** value: not covered, yet at least two latents are specific to it
  (precision >= ``threshold``) and together (active = any of them) reach F1 >= ``threshold``.

Example:
    >>> scores = latent_scores(codes > 0, value_masks)       # [d_sae, n_values] each
    >>> summary = summarise(scores, value_names, strength={"io": 3.0, "order": 1.0})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class LatentScores:
    """``precision``, ``recall``, ``f1`` ``[d_sae, n_values]`` and the masks they came from."""

    precision: Tensor
    recall: Tensor
    f1: Tensor
    active: Tensor  # [n, d_sae] bool
    values: Tensor  # [n, n_values] bool


def value_masks(labels: Sequence[Mapping[str, str]], attributes: Sequence[str]):
    """The (attribute, value) pairs present in ``labels`` and the mask ``[n, n_values]``."""
    names = sorted({(a, p[a]) for p in labels for a in attributes})
    index = {name: i for i, name in enumerate(names)}
    mask = torch.zeros(len(labels), len(names), dtype=torch.bool)
    for row, p in enumerate(labels):
        for a in attributes:
            mask[row, index[a, p[a]]] = True
    return names, mask


def latent_scores(active: Tensor, values: Tensor) -> LatentScores:
    """Precision, recall and F1 of every latent against every value (0 where undefined)."""
    a, v = active.double(), values.double()
    hits = a.T @ v  # [d_sae, n_values]
    fired, present = a.sum(0)[:, None], v.sum(0)[None, :]
    precision = torch.where(fired > 0, hits / fired.clamp_min(1), torch.zeros_like(hits))
    recall = torch.where(present > 0, hits / present.clamp_min(1), torch.zeros_like(hits))
    f1 = 2 * hits / (fired + present).clamp_min(1)
    return LatentScores(precision, recall, f1, active.bool(), values.bool())


def best_latents(scores: LatentScores, value: int, n: int, among: Tensor | None = None) -> Tensor:
    """The ``n`` latents of highest F1 for ``value`` (only those set in the ``among`` mask
    ``[d_sae]`` when given; fewer if fewer qualify), best first."""
    f1 = scores.f1[:, value]
    if among is not None:
        f1 = torch.where(among, f1, torch.full_like(f1, -1.0))
    top = torch.topk(f1, min(n, len(f1)))
    return top.indices[top.values > 0]


def summarise(
    scores: LatentScores,
    names: Sequence[tuple[str, str]],
    strength: Mapping[str, float] | None = None,
    threshold: float = 0.7,
    min_count: int = 1,
) -> dict:
    """Best F1 per value, the covered fraction, occluded and over-split values.

    Only values with at least ``min_count`` prompts count. ``strength`` (per attribute)
    decides which attribute is stronger for occlusion; without it nothing is occluded.
    """
    counted = [i for i in range(len(names)) if int(scores.values[:, i].sum()) >= min_count]
    best_f1, best_j = scores.f1.max(0)
    occluded = [i for i in counted if _occluded(scores, names, i, best_j, strength, threshold)]
    oversplit = [i for i in counted if _oversplit(scores, i, threshold)]
    per_value = {f"{names[i][0]}={names[i][1]}": round(float(best_f1[i]), 4) for i in counted}
    n = max(len(counted), 1)
    return {
        "values_counted": len(counted),
        "mean_best_f1": float(best_f1[counted].mean()) if counted else None,
        "fraction_values_covered": sum(float(best_f1[i]) >= threshold for i in counted) / n
        if counted
        else None,
        "occluded_values": len(occluded),
        "oversplit_values": len(oversplit),
        "occluded": [f"{names[i][0]}={names[i][1]}" for i in occluded],
        "oversplit": [f"{names[i][0]}={names[i][1]}" for i in oversplit],
        "best_f1": per_value,
        "best_f1_by_attribute": _by_attribute(best_f1, names, counted),
    }


def _by_attribute(best_f1: Tensor, names, counted: list[int]) -> dict[str, float]:
    groups: dict[str, list[float]] = {}
    for i in counted:
        groups.setdefault(names[i][0], []).append(float(best_f1[i]))
    return {a: round(sum(v) / len(v), 4) for a, v in sorted(groups.items())}


def _occluded(scores, names, i: int, best_j: Tensor, strength, threshold: float) -> bool:
    if not strength:
        return False
    j = int(best_j[i])
    if float(scores.f1[j, i]) >= threshold:
        return False
    other = int(scores.f1[j].argmax())
    mine, theirs = names[i][0], names[other][0]
    return (
        theirs != mine
        and float(scores.f1[j, other]) >= threshold
        and strength.get(theirs, 0.0) > strength.get(mine, 0.0)
    )


def _oversplit(scores: LatentScores, i: int, threshold: float) -> bool:
    if float(scores.f1[:, i].max()) >= threshold:
        return False
    specific = (scores.precision[:, i] >= threshold) & (scores.recall[:, i] > 0)
    if int(specific.sum()) < 2:
        return False
    union = scores.active[:, specific].any(1, keepdim=True)
    return float(latent_scores(union, scores.values[:, i : i + 1]).f1[0, 0]) >= threshold
