"""The leaderboard's plots: L0 against CE-loss score and against FVU (each hook's Pareto
frontier), and every evaluator's main metric against L0.

The three metrics the sparsity/fidelity plots need are named here because the plots are about
exactly them; every other plot follows the evaluators' own main metrics and directions.

Example:
    >>> board_figures(board_tables(records), Path("leaderboards/zoo/plots"))
    [PosixPath('leaderboards/zoo/plots/l0_vs_ce_loss_score.png'), ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from saebench.results.board.tables import SAE, Board
from saebench.results.plots import plot_tradeoff

L0 = "sparsity.l0"
CE_SCORE = "reconstruction.ce_loss_score"
FVU = "reconstruction.fvu"


@dataclass(frozen=True)
class Figure:
    file: str  # name inside the plots folder
    y: str
    higher: bool | None
    title: str


def planned_figures(board: Board) -> list[Figure]:
    """Which plots this board gets (only those whose columns exist), in a fixed order."""
    frame = board.full
    if L0 not in frame:
        return []
    figures = []
    fixed = [(CE_SCORE, "sparsity against downstream fidelity"), (FVU, "sparsity against FVU")]
    for column, what in fixed:
        if column in frame and frame[column].notna().any():
            higher = board.directions.get(column)
            figures.append(Figure(f"l0_vs_{column.split('.', 1)[1]}.png", column, higher, what))
    done = {L0, *(f.y for f in figures)}
    for column in board.columns:
        if column.name in done or frame[column.name].notna().sum() == 0:
            continue
        name = f"l0_vs_{column.evaluator}_{column.metric}.png"
        figures.append(Figure(name, column.name, column.higher, f"{column.name} against L0"))
    return figures


def board_figures(board: Board, out_dir: Path) -> list[Path]:
    """Write every planned plot into ``out_dir``; returns their paths."""
    saes = board.full[board.full["kind"] == SAE]
    paths = []
    for figure in planned_figures(board):
        path = plot_tradeoff(
            saes, L0, figure.y, Path(out_dir) / figure.file, figure.title, figure.higher
        )
        paths.append(path)
    return paths
