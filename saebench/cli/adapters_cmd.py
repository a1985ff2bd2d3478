"""``saebench adapters list|check``."""

from __future__ import annotations

import typer

from saebench.cli.output import emit_json, emit_table

app = typer.Typer(help="Checkpoint-format adapters.", no_args_is_help=True)


@app.command("list")
def list_adapters(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every installed adapter (built-in and third-party) and where it comes from."""
    from saebench.errors import SaebenchError
    from saebench.registry import adapters

    rows = []
    for name in adapters.names():
        try:
            description = adapters.get(name).description
        except SaebenchError as exc:  # one broken plug-in must not hide the others
            description = f"BROKEN: {exc}"
        rows.append({"scheme": name, "package": adapters.source(name), "description": description})
    emit_json(rows) if as_json else emit_table(rows)


@app.command("check")
def check(
    uri: str = typer.Argument(..., help="SAE URI or path"),
    model: str = typer.Option(None, "--model", help="also check the hook in this model"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Load an SAE and report shapes, dtypes, decoder norms, dead rows, round trip, hook."""
    from saebench.adapters.check import check_sae

    report = check_sae(uri, model=model)
    if as_json:
        emit_json(report.model_dump(mode="json") if hasattr(report, "model_dump") else report)
    else:
        print("\n".join(report.lines()))
    if not report.ok:
        raise typer.Exit(1)
