"""Plots generated from leaderboard frames (PNG, via matplotlib's Agg backend).

Labels are placed greedily so that no two overlap (a label with no free spot near its point
is left out and counted in a note under the plot), and the PNG carries no software or date
metadata, so plotting the same frame twice writes the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# where a label may go, in points from its point: right, above, left, below, then diagonals,
# each tried at growing distances
_DIRECTIONS = [(1, 0.2), (0, 1), (-1, 0.2), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)]
_DISTANCES = (4, 10, 18, 28)
_MARKER_PX = 4.0  # half the size of the box kept free around every point


def pareto_front(frame: pd.DataFrame, x: str, y: str, higher_y: bool = True) -> pd.DataFrame:
    """Rows no other row beats: lower ``x`` (e.g. L0) and better ``y`` (higher by default,
    e.g. CE-loss score; ``higher_y=False`` for FVU).

    Example:
        >>> pareto_front(frame, "sparsity.l0", "reconstruction.ce_loss_score")
    """
    points = frame.dropna(subset=[x, y]).sort_values(
        [x, y], ascending=[True, not higher_y], kind="mergesort"
    )
    best = float("-inf")
    keep = []
    for index, row in points.iterrows():
        value = row[y] if higher_y else -row[y]
        if value > best:
            keep.append(index)
            best = value
    return points.loc[keep]


def plot_tradeoff(
    frame: pd.DataFrame,
    x: str,
    y: str,
    path: Path,
    title: str = "",
    higher_y: bool | None = True,
) -> Path:
    """One point per SAE, labelled, with each hook's Pareto frontier (none when
    ``higher_y`` is None: a metric with no better direction); written to ``path``.

    Example:
        >>> plot_tradeoff(frame, "sparsity.l0", "reconstruction.ce_loss_score", Path("p.png"))
    """
    import matplotlib.pyplot as plt

    fig = draw_tradeoff(frame, x, y, title, higher_y)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # no "Software" (matplotlib's version) and no date: the same frame gives the same bytes
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


def draw_tradeoff(frame: pd.DataFrame, x: str, y: str, title: str = "", higher_y=True):
    """The figure :func:`plot_tradeoff` writes (for tests and notebooks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = frame.dropna(subset=[x, y]).sort_values(["sae", x, y], kind="mergesort")
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    for arch, group in data.groupby("architecture", sort=True):
        ax.scatter(group[x], group[y], label=arch, s=30, zorder=3)
    if higher_y is not None:
        _draw_frontiers(ax, data, x, y, higher_y)
    if len(data) and (data[x] > 0).all():
        from matplotlib.ticker import LogLocator, ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(LogLocator(subs=()))
    ax.margins(0.1)  # room for the labels of the outermost points
    ax.set_xlabel(x.replace(".", ": "))
    better = {True: " (higher is better)", False: " (lower is better)"}.get(higher_y, "")
    ax.set_ylabel(y.replace(".", ": ") + better)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(data):
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    hidden = place_labels(fig, ax, data, x, y)
    if hidden:
        fig.text(0.01, 0.005, f"{hidden} label(s) left out: no free spot", fontsize=6)
    return fig


def _draw_frontiers(ax, data: pd.DataFrame, x: str, y: str, higher_y: bool) -> None:
    # SAEs on different hooks (or models) do not compete, so each gets its own frontier
    styles = ["--", ":", "-.", "-"]
    groups = data.groupby(["model", "hook"], sort=True) if "model" in data else data.groupby("hook")
    for index, (key, group) in enumerate(groups):
        hook = key[-1] if isinstance(key, tuple) else key
        front = pareto_front(group, x, y, higher_y)
        ax.step(
            front[x],
            front[y],
            where="post",
            color="black",
            lw=1,
            ls=styles[index % len(styles)],
            label=f"Pareto frontier, {hook}",
            zorder=2,
        )
        # rings mark the frontier's SAEs (a hook with one SAE has no line to see)
        ax.scatter(
            front[x], front[y], s=90, facecolors="none", edgecolors="black", lw=0.8, zorder=4
        )


def place_labels(fig, ax, data: pd.DataFrame, x: str, y: str) -> int:
    """Label every point with its SAE's name where the label overlaps no other label, no
    point, no legend and stays inside the axes; returns how many found no spot."""
    renderer = fig.canvas.get_renderer()
    frame_box = ax.get_window_extent(renderer)
    points = ax.transData.transform(data[[x, y]].to_numpy(dtype=float)) if len(data) else []
    taken = [_point_box(px, py) for px, py in points]
    legend = ax.get_legend()
    if legend is not None:
        taken.append(legend.get_window_extent(renderer))
    hidden = 0
    for (px, py), name in zip(points, data["sae"], strict=True):
        if not _place_one(ax, renderer, frame_box, taken, (px, py), str(name)):
            hidden += 1
    return hidden


def _place_one(ax, renderer, frame_box, taken, point, name) -> bool:
    for distance in _DISTANCES:
        for dx, dy in _DIRECTIONS:
            offset = (dx * distance, dy * distance)
            text = ax.annotate(
                name,
                ax.transData.inverted().transform(point),
                xytext=offset,
                textcoords="offset points",
                fontsize=6,
                ha="left" if dx > 0 else "right" if dx < 0 else "center",
                va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                annotation_clip=False,
            )
            box = text.get_window_extent(renderer)
            inside = frame_box.contains(box.x0, box.y0) and frame_box.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(other) for other in taken):
                text.set_gid("saebench-label")
                taken.append(box)
                return True
            text.remove()
    return False


def _point_box(px: float, py: float):
    from matplotlib.transforms import Bbox

    return Bbox.from_extents(px - _MARKER_PX, py - _MARKER_PX, px + _MARKER_PX, py + _MARKER_PX)


def label_boxes(fig) -> list:
    """Window extents of every label :func:`place_labels` kept (tests check they are apart)."""
    renderer = fig.canvas.get_renderer()
    return [
        t.get_window_extent(renderer)
        for ax in fig.axes
        for t in ax.texts
        if t.get_gid() == "saebench-label"
    ]
