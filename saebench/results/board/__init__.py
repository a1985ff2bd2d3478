"""Leaderboards built from records: tables, plots, one static HTML page, and publishing.

Example:
    >>> from saebench.results.board import build_board, publish_board
    >>> publish_board(build_board("results/", "zoo"))
"""

from saebench.lazy import lazy_exports

_EXPORTS = {
    "build_board": "saebench.results.board.build",
    "board_tables": "saebench.results.board.tables",
    "check_board": "saebench.results.board.publish",
    "publish_board": "saebench.results.board.publish",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
