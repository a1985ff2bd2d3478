"""EXPERIMENTAL: ground-truth absorption and hedging on the model's feature hierarchy.

Let l(j) be the latent the Hungarian matching pairs with feature j. A parent feature p
(one with children) is looked at when l(p) exists and |cos(W_dec[l(p)], F_p)| >= min_cos.

- absorption_rate(p) = P(z[l(p)] == 0 and some child c has a_c > 0 and z[l(c)] != 0 | a_p > 0):
  the parent is present, its latent stays silent, and a child's latent fires instead.
- hedging(p) = sum over children c of (unit W_dec[l(p)] . F_c)^2: how much of the parent
  latent's direction points into its children's (weights only).

Both are averaged over parents at each depth and over all parents. Nothing published measures
these, so they are marked experimental wherever they are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from saebench.evaluators.ground_truth.dictionary import Matching
from saebench.toolkit.matching import unit_rows


@dataclass
class Parents:
    """The parent features looked at, their latents, and their children's."""

    feature: Tensor  # [P] parent feature ids
    latent: Tensor  # [P] their partner latents
    depth: Tensor  # [P] their depth in the hierarchy
    hedging: Tensor  # [P] float64
    child_feature: Tensor  # [C] children (of the parents above) that have a partner latent
    child_latent: Tensor  # [C]
    child_slot: Tensor  # [C] index of each child's parent in ``feature``

    def to(self, device) -> Parents:
        return Parents(**{k: v.to(device) for k, v in self.__dict__.items()})


def parents_of(model, matching: Matching, decoder: Tensor, min_cos: float) -> Parents | None:
    """The learnt parent features of ``model`` (None: the model has no hierarchy)."""
    parent = getattr(model, "parent", None)
    if parent is None:
        return None
    parent = parent.cpu().long()
    n = parent.shape[0]
    has_children = torch.bincount(parent[parent >= 0], minlength=n) > 0
    w, f = unit_rows(decoder.cpu()), unit_rows(model.features.cpu())
    partner = matching.partner
    cos = (w[partner.clamp_min(0)] * f).sum(-1).abs()
    chosen = has_children & (partner >= 0) & (cos >= min_cos)
    feature = chosen.nonzero().flatten()
    if feature.numel() == 0:
        return None
    slot = torch.full((n,), -1, dtype=torch.int64)
    slot[feature] = torch.arange(feature.numel())
    is_child = (parent >= 0) & (slot[parent.clamp_min(0)] >= 0)
    children = is_child.nonzero().flatten()
    child_slot = slot[parent[children]]
    # hedging over every child, learnt or not: the parent's direction is what is judged
    latent = partner[feature]
    overlap = (w[latent[child_slot]] * f[children]).sum(-1).double().pow(2)
    hedging = torch.zeros(feature.numel(), dtype=torch.float64).index_add_(0, child_slot, overlap)
    learnt = partner[children] >= 0
    depth = getattr(model, "depth", None)
    return Parents(
        feature=feature,
        latent=latent,
        depth=depth.cpu().long()[feature] if depth is not None else torch.zeros_like(feature),
        hedging=hedging,
        child_feature=children[learnt],
        child_latent=partner[children[learnt]],
        child_slot=child_slot[learnt],
    )


def absorption_events(parents: Parents, truth: Tensor, codes: Tensor) -> tuple[Tensor, Tensor]:
    """Per row and parent ``[n, P]``: the parent fires, and it is absorbed (its latent is
    silent while a present child's latent fires)."""
    present = truth[:, parents.feature] > 0
    silent = codes[:, parents.latent] == 0
    child_hit = (truth[:, parents.child_feature] > 0) & (codes[:, parents.child_latent] != 0)
    # children to their parents' slots as a [C, P] 0/1 matrix: a matmul, not index_add_
    slots = torch.nn.functional.one_hot(parents.child_slot, parents.feature.numel())
    hits = child_hit.float() @ slots.float()
    return present, present & silent & (hits > 0)


def by_depth(parents: Parents, fired, absorbed) -> dict[str, dict]:
    """Mean absorption rate (over parents that fired) and hedging per depth."""
    import numpy as np

    depth = parents.depth.numpy()
    rate = np.where(fired > 0, absorbed / np.maximum(fired, 1), np.nan)
    out = {}
    for d in sorted(set(depth.tolist())):
        here = depth == d
        rates = rate[here][~np.isnan(rate[here])]
        out[str(d)] = {
            "parents": int(here.sum()),
            "parents_fired": int(rates.size),
            "absorption_rate": float(rates.mean()) if rates.size else None,
            "hedging": float(parents.hedging.numpy()[here].mean()),
        }
    return out
