"""``saebench leaderboard show|build|publish``: tables generated from result records."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Leaderboard tables built from result records.", no_args_is_help=True)


@app.command("show")
def show(
    results: Path = typer.Argument(..., help="folder of result records"),
    sort_by: str = typer.Option(None, "--sort", help="column, e.g. reconstruction.ce_loss_score"),
    fmt: str = typer.Option("text", "--format", help="text, markdown, csv (every metric)"),
) -> None:
    """Print the leaderboard of every record in RESULTS."""
    from saebench.errors import SaebenchError
    from saebench.records import load_records
    from saebench.results.board.render import csv_text, markdown_tables, terminal_tables
    from saebench.results.board.tables import board_tables

    renderings = {"text": terminal_tables, "markdown": markdown_tables, "csv": csv_text}
    if fmt not in renderings:
        raise SaebenchError(f"--format {fmt}: use text, markdown or csv")
    board = board_tables(load_records(results), sort_by=sort_by)
    print(renderings[fmt](board).rstrip("\n"))


@app.command("build")
def build(
    results: Path = typer.Argument(..., help="folder of result records"),
    name: str = typer.Option(..., "--name", help="leaderboard name, e.g. zoo"),
    out: Path = typer.Option(Path("leaderboards"), "--out", help="parent folder"),
    sort_by: str = typer.Option(
        None, "--sort", help="rank by this column, e.g. reconstruction.ce_loss_score"
    ),
) -> None:
    """Write OUT/NAME: records, README.md, leaderboard.csv, plots/ and index.html."""
    from saebench.results.board.build import build_board

    target = build_board(results, name, out, sort_by)
    n_records = len(list((target / "records").glob("*.json")))
    print(f"built {target}: {n_records} records; open {target / 'index.html'}")


@app.command("publish")
def publish(
    board: Path = typer.Argument(..., help="a built leaderboard, e.g. leaderboards/zoo"),
) -> None:
    """Check provenance, keys and tables; write PUBLISHED.json if nothing is refused."""
    from saebench.results.board.publish import publish_board

    manifest = publish_board(board)
    print(f"published: wrote {manifest}; the folder is ready to commit")
