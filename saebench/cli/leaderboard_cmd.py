"""``saebench leaderboard show``: tables generated from result records."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Leaderboard tables built from result records.", no_args_is_help=True)


@app.command("show")
def show(
    results: Path = typer.Argument(..., help="folder of result records"),
    sort_by: str = typer.Option(None, "--sort", help="column, e.g. reconstruction.ce_loss_score"),
    fmt: str = typer.Option("markdown", "--format", help="markdown, csv or html"),
) -> None:
    """Print the leaderboard of every record in RESULTS."""
    from saebench.leaderboard import leaderboard, render
    from saebench.records import load_records

    print(render(leaderboard(load_records(results), sort_by=sort_by), fmt))
