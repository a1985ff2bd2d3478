"""``saebench autointerp show RESULTS_DIR --sae NAME``: the explanations, scores and examples
of one SAE's autointerp record, as an HTML page and a terminal summary."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Autointerp results: explanations, scores, examples.", no_args_is_help=True)


@app.command("show")
def show(
    results_dir: Path = typer.Argument(..., help="A results folder (the --out of a run)."),
    sae: str = typer.Option(..., "--sae", help="The SAE's name (or URI) in the records."),
    out: Path | None = typer.Option(
        None, "--out", help="The HTML file to write (default: RESULTS_DIR/autointerp-SAE.html)."
    ),
) -> None:
    """Write one static HTML page for an SAE's autointerp record and print a summary."""
    from saebench.evaluators.autointerp.viewer import (
        find_autointerp_record,
        summary_table,
        write_viewer,
    )
    from saebench.records import slug

    record = find_autointerp_record(results_dir, sae)
    path = write_viewer(
        record, out or Path(results_dir) / f"autointerp-{slug(record.sae.name)}.html"
    )
    print(summary_table(record))
    print(f"wrote {path}")
