"""The hierarchy of a synthetic model as flat arrays: who is whose parent, how deep, which
parents have mutually exclusive children, and the compensation of firing probabilities.

Trees are built breadth-first across all trees at once: the roots take indices 0..R-1, then
every parent of one level, in index order, takes the next ``branching_factor`` indices for
its children, and so on down to ``max_depth`` (the last trees are cut when indices run out).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from saebench.synthetic.config import HierarchyConfig


@dataclass(frozen=True)
class Forest:
    """parent [N] (-1: none), depth [N], in_tree [N], exclusive [N] (children exclude each other)."""

    parent: torch.Tensor
    depth: torch.Tensor
    in_tree: torch.Tensor
    exclusive: torch.Tensor


def build_forest(num_features: int, config: HierarchyConfig | None, seed: int) -> Forest:
    """The trees of ``config`` over the first features; which eligible parents get mutually
    exclusive children is drawn with ``random.Random(seed)`` (as SAELens does)."""
    parent = [-1] * num_features
    depth = [0] * num_features
    roots = min(config.total_root_nodes if config else 0, num_features)
    parents = list(range(roots))  # every node that may have children, in creation order
    level, following = list(parents), roots
    while level:
        deeper = []
        for node in level:
            if depth[node] >= config.max_depth:
                continue
            for _ in range(config.branching_factor):
                if following >= num_features:
                    break
                parent[following], depth[following] = node, depth[node] + 1
                if depth[following] < config.max_depth:
                    deeper.append(following)
                following += 1
        parents.extend(deeper)
        level = deeper
    parent_t = torch.tensor(parent, dtype=torch.int64)
    exclusive = _exclusive(parent_t, depth, parents, config, seed)
    return Forest(parent_t, torch.tensor(depth), torch.arange(num_features) < following, exclusive)


def _exclusive(parent: torch.Tensor, depth: list, parents: list, config, seed: int):
    exclusive = torch.zeros(parent.shape[0], dtype=torch.bool)
    if not parents:
        return exclusive
    children = torch.bincount(parent[parent >= 0], minlength=parent.shape[0])
    eligible = [p for p in parents if depth[p] >= config.min_depth and children[p] >= 2]
    chosen = random.Random(seed).sample(
        range(len(eligible)), int(len(eligible) * config.mutually_exclusive_portion)
    )
    exclusive[[eligible[i] for i in chosen]] = True
    return exclusive


def compensation(base: torch.Tensor, forest: Forest) -> torch.Tensor:
    """Per feature, the factor that keeps its realised rate near ``base`` once the hierarchy
    gates it: 1 / p(parent) for a child, times 1 + (sum of its siblings' p) / p(parent) when
    its siblings exclude each other; 1 for roots and free features."""
    factor = torch.ones_like(base, dtype=torch.float64)
    child = forest.parent >= 0
    up = forest.parent[child]
    base64 = base.double()
    factor[child] = 1 / base64[up]
    siblings = torch.zeros_like(base64).index_add_(0, up, base64[child])
    me = child.clone()
    me[child] = forest.exclusive[up]
    up_me = forest.parent[me]
    others = (siblings[up_me] - base64[me]).clamp(min=0)
    factor[me] *= 1 + others / base64[up_me]
    return factor


def children_table(parent: torch.Tensor) -> torch.Tensor:
    """[N, w] the children of every feature in index order, padded with -1 (w = the most
    children any feature has, at least 1)."""
    child = torch.nonzero(parent >= 0).flatten()
    ups = parent[child]
    order = torch.argsort(ups, stable=True)
    child, ups = child[order], ups[order]
    counts = torch.bincount(ups, minlength=parent.shape[0])
    width = max(int(counts.max()) if counts.numel() else 0, 1)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(child.numel()) - starts[ups]
    table = torch.full((parent.shape[0], width), -1, dtype=torch.int64)
    table[ups, slot] = child
    return table
