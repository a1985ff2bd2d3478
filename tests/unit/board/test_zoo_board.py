"""The committed zoo leaderboard is exactly what its records rebuild to (when it is there;
otherwise a board built here stands in, so the check itself always runs)."""

from pathlib import Path

import pytest
from board_factory import board_records

from saebench.results.board.build import build_board, write_board

ZOO_SORT = "reconstruction.ce_loss_score"  # leaderboards/zoo is built with --sort this

ZOO = Path(__file__).parents[3] / "leaderboards" / "zoo"


@pytest.fixture
def committed(tmp_path):
    if (ZOO / "records").is_dir():
        return ZOO
    stand_in = tmp_path / "zoo"
    write_board(sorted(board_records(), key=lambda r: r.key), stand_in, "zoo", sort_by=ZOO_SORT)
    return stand_in


def test_the_zoo_leaderboard_rebuilds_byte_identically(committed, tmp_path):
    rebuilt = build_board(committed / "records", "zoo", tmp_path / "rebuilt", ZOO_SORT)
    made = {p.relative_to(rebuilt) for p in rebuilt.rglob("*") if p.is_file()}
    there = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
    assert made == there - {Path("PUBLISHED.json")}
    for relative in sorted(made):
        assert (committed / relative).read_bytes() == (rebuilt / relative).read_bytes(), relative
