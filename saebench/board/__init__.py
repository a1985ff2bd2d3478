"""Leaderboards built from records: tables, plots, one static HTML page, and publishing.

Example:
    >>> from saebench.board import build_board, publish_board
    >>> publish_board(build_board("results/", "zoo"))
"""

from saebench.lazy import lazy_exports

_EXPORTS = {
    "build_board": "saebench.board.build",
    "board_tables": "saebench.board.tables",
    "check_board": "saebench.board.publish",
    "publish_board": "saebench.board.publish",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
