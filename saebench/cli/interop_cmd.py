"""``saebench export saebench-json`` and ``saebench import saebench-json``: SAEBench's result
JSON to and from records (see docs/leaderboards.md for the metrics flagged on import)."""

from __future__ import annotations

from pathlib import Path

import typer

export_app = typer.Typer(help="Write records in other tools' formats.", no_args_is_help=True)
import_app = typer.Typer(help="Read other tools' results into records.", no_args_is_help=True)


@export_app.command("saebench-json")
def export_saebench(
    results: Path = typer.Argument(..., help="folder of result records"),
    out: Path = typer.Option(..., "--out", help="folder for SAEBench result files"),
) -> None:
    """Write SAEBench result JSON (core, autointerp, ravel, sparse_probing) into OUT."""
    from saebench.interop.saebench_json import export_saebench_json
    from saebench.records import load_records

    paths = export_saebench_json(load_records(results), out)
    print(f"wrote {len(paths)} SAEBench result file(s) under {out}")


@import_app.command("saebench-json")
def import_saebench(
    folder: Path = typer.Argument(..., help="folder of SAEBench result files"),
    out: Path = typer.Option(..., "--out", help="results folder for the records"),
) -> None:
    """Turn SAEBench result JSON into records in OUT (flagging metrics defined otherwise)."""
    from saebench.files import check_writable_dir
    from saebench.interop.saebench_json import import_saebench_json
    from saebench.records import write_record

    check_writable_dir(out, "--out")
    records = import_saebench_json(folder)
    for record in records:
        write_record(out, record)
    flagged = sum(len(r.details["saebench_import"]["differs"]) for r in records)
    print(
        f"imported {len(records)} record(s) into {out}; {flagged} metric(s) flagged as "
        "defined differently (saebench_* names)"
    )
