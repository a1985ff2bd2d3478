"""Every committed leaderboard is exactly what its records rebuild to (the zoo's, when it is
not there, is stood in for by a board built here, so the check itself always runs)."""

import json
from pathlib import Path

import pytest
from board_factory import board_records

from saebench.results.board.build import build_board, write_board

ZOO_SORT = "reconstruction.ce_loss_score"  # leaderboards/zoo is built with --sort this
BOARDS = Path(__file__).parents[3] / "leaderboards"


def _committed() -> list[Path]:
    return sorted(p.parent for p in BOARDS.glob("*/BUILT.json"))


@pytest.fixture(params=_committed() or ["stand-in"], ids=lambda p: getattr(p, "name", p))
def committed(request, tmp_path):
    if isinstance(request.param, Path):
        return request.param
    stand_in = tmp_path / "zoo"
    write_board(sorted(board_records(), key=lambda r: r.key), stand_in, "zoo", sort_by=ZOO_SORT)
    return stand_in


def test_each_leaderboard_rebuilds_byte_identically(committed, tmp_path):
    built = json.loads((committed / "BUILT.json").read_text())
    rebuilt = build_board(
        committed / "records", committed.name, tmp_path / "rebuilt", built["sort_by"]
    )
    made = {p.relative_to(rebuilt) for p in rebuilt.rglob("*") if p.is_file()}
    there = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
    # PUBLISHED.json and hand-written notes (NOTES.md) are not the build's
    assert made == there - {Path("PUBLISHED.json"), Path("NOTES.md")}
    for relative in sorted(made):
        assert (committed / relative).read_bytes() == (rebuilt / relative).read_bytes(), relative
