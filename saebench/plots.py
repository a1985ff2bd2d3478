"""Plots generated from leaderboard frames (PNG, via matplotlib's Agg backend)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def pareto_front(frame: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Rows no other row beats: lower ``x`` (e.g. L0) and higher ``y`` (e.g. CE score).

    Example:
        >>> pareto_front(frame, "sparsity.l0", "reconstruction.ce_loss_score")
    """
    points = frame.dropna(subset=[x, y]).sort_values([x, y], ascending=[True, False])
    best = float("-inf")
    keep = []
    for index, row in points.iterrows():
        if row[y] > best:
            keep.append(index)
            best = row[y]
    return points.loc[keep]


def plot_tradeoff(frame: pd.DataFrame, x: str, y: str, path: Path, title: str = "") -> Path:
    """One point per SAE, labelled, with each hook's Pareto frontier; written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = frame.dropna(subset=[x, y])
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for arch, group in data.groupby("architecture"):
        ax.scatter(group[x], group[y], label=arch, s=36)
    for _, row in data.iterrows():
        ax.annotate(
            row["sae"], (row[x], row[y]), fontsize=6, xytext=(3, 3), textcoords="offset points"
        )
    # SAEs on different hooks do not compete, so each hook gets its own frontier.
    styles = ["--", ":", "-.", "-"]
    for index, (hook, group) in enumerate(data.groupby("hook")):
        style = styles[index % len(styles)]
        front = pareto_front(group, x, y)
        ax.step(
            front[x],
            front[y],
            where="post",
            color="black",
            lw=1,
            ls=style,
            label=f"Pareto frontier, {hook}",
        )
    ax.set_xscale("log")
    ax.set_xlabel(x.replace(".", ": "))
    ax.set_ylabel(y.replace(".", ": "))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
