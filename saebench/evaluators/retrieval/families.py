"""Feature families: trees of latents that fire together, built as O'Neill et al. (2024) do.

From the binary firing matrix ``A`` (texts x latents) of the alive latents:
1. co-occurrence ``C = A^T A``, normalised by row, ``W_ij = C_ij / (C_ii + 1)`` (about
   P(j fires | i fires));
2. entries below ``threshold`` (0.1) dropped, the rest exponentiated; the graph is undirected
   with weight ``max(W_ij, W_ji)`` (saerch's matrix is asymmetric and networkx keeps one
   direction of it; the larger is the one an edge of a maximum tree would use);
3. the maximum spanning tree (forest) of that graph (Kruskal, ``networkx``), each edge
   directed from the more to the less frequent latent;
4. a family is a latent with no incoming edge and more than ``min_children`` outgoing ones,
   with every latent reachable from it.
saerch then removes the parents and rebuilds the tree three times, filters families by an
LLM's "clean" labels and merges near-duplicates; without labels this keeps the first pass
over every alive latent (``beyond.md`` section 2.2).

Example:
    >>> found = feature_families(codes != 0)
    >>> found["n_families"], found["families"][0]["parent"]
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_LISTED = 50  # families listed in the details (the largest)


def cooccurrence_weights(active: np.ndarray, threshold: float) -> np.ndarray:
    """Row-normalised co-occurrence of the columns of ``active``, thresholded, exponentiated,
    symmetrised by the maximum; no self-edges (0 = no edge)."""
    a = np.asarray(active, dtype=np.float64)
    c = a.T @ a
    w = c / (np.diag(c)[:, None] + 1.0)
    np.fill_diagonal(w, 0.0)
    w = np.maximum(w, w.T)
    return np.where(w >= threshold, np.exp(w), 0.0)


def directed_tree(weights: np.ndarray, density: np.ndarray):
    """The maximum spanning forest, each edge from the denser to the sparser latent."""
    import networkx as nx

    graph = nx.from_numpy_array(weights)
    tree = nx.maximum_spanning_tree(graph, algorithm="kruskal")
    directed = nx.DiGraph()
    directed.add_nodes_from(range(len(density)))
    for i, j in tree.edges():
        # ties in density: the lower index is the parent, so the tree is a function of the data
        high, low = (i, j) if (density[i], -i) >= (density[j], -j) else (j, i)
        directed.add_edge(high, low)
    return directed


def feature_families(
    active: np.ndarray, *, threshold: float = 0.1, min_children: int = 2
) -> dict[str, Any]:
    """Families of the latents (columns) of a boolean firing matrix, and their sizes."""
    import networkx as nx

    active = np.asarray(active, dtype=bool)
    density = active.mean(0)
    alive = np.flatnonzero(density > 0)
    if len(alive) < 2:
        return _summary([], len(alive), 0)
    tree = directed_tree(cooccurrence_weights(active[:, alive], threshold), density[alive])
    families = []
    for node in tree.nodes:
        if tree.in_degree(node) == 0 and tree.out_degree(node) > min_children:
            sub = nx.dfs_tree(tree, node)
            families.append({"parent": int(alive[node]),
                             "children": sorted(int(alive[m]) for m in sub.nodes if m != node),
                             "edges": [[int(alive[a]), int(alive[b])] for a, b in sub.edges]})  # fmt: skip
    families.sort(key=lambda f: (-len(f["children"]), f["parent"]))
    return _summary(families, len(alive), tree.number_of_edges())


def _summary(families: list[dict], n_alive: int, n_edges: int) -> dict[str, Any]:
    sizes = [1 + len(f["children"]) for f in families]
    covered = {f["parent"] for f in families} | {c for f in families for c in f["children"]}
    return {
        "n_families": len(families),
        "mean_size": float(np.mean(sizes)) if sizes else 0.0,
        "max_size": max(sizes, default=0),
        "alive_fraction_in_family": len(covered) / n_alive if n_alive else 0.0,
        "tree_edges": n_edges,
        "families": families[:MAX_LISTED],
    }


def plot_families(details: dict[str, Any], path, n: int = 4, title: str | None = None):
    """The ``n`` largest families of a record's details, each drawn as its parent and
    children (``details["families"]``); returns the path written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = details.get("families", {}).get("families", [])[:n]
    fig, axes = plt.subplots(1, max(1, len(families)), figsize=(4 * max(1, len(families)), 4))
    for ax, family in zip(np.atleast_1d(axes), families, strict=False):
        _draw_family(ax, family)
    for ax in np.atleast_1d(axes)[len(families) :]:
        ax.set_axis_off()
    fig.suptitle(title or "largest feature families (parent at the centre)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _draw_family(ax, family: dict) -> None:
    """The family's tree, radially: the parent at the centre, depth d on the circle of
    radius d, each node's children spread over its share of the angle."""
    children: dict[int, list[int]] = {}
    for a, b in family.get("edges") or [[family["parent"], c] for c in family["children"]]:
        children.setdefault(a, []).append(b)
    place = _radial(family["parent"], children)
    for a, kids in children.items():
        for b in kids:
            ax.plot(*zip(place[a], place[b], strict=True), color="0.7", lw=0.6, zorder=1)
    below = [place[n] for n in place if n != family["parent"]]
    ax.scatter([p[0] for p in below], [p[1] for p in below], s=14, color="tab:blue", zorder=2)
    ax.scatter([0], [0], s=90, color="tab:red", zorder=3)
    ax.set_title(f"latent {family['parent']}: {len(family['children'])} below it", fontsize=9)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _radial(root: int, children: dict[int, list[int]]) -> dict[int, tuple[float, float]]:
    """Positions of a tree's nodes: depth as radius, leaf count as share of the angle."""
    leaves: dict[int, int] = {}
    order = [root]  # parents before children
    for node in order:
        order.extend(children.get(node, []))
    for node in reversed(order):
        leaves[node] = sum(leaves[c] for c in children.get(node, [])) or 1
    place = {root: (0.0, 0.0)}
    span = {root: (0.0, 2 * np.pi, 0)}
    for node in order:
        start, width, depth = span[node]
        for child in children.get(node, []):
            share = width * leaves[child] / leaves[node]
            angle = start + share / 2
            place[child] = ((depth + 1) * np.cos(angle), (depth + 1) * np.sin(angle))
            span[child] = (start, share, depth + 1)
            start += share
    return place
