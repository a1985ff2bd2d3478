"""``saebench evaluators list``."""

from __future__ import annotations

import typer

from saebench.cli.output import emit_json, emit_table

app = typer.Typer(help="Installed evaluators.", no_args_is_help=True)


@app.command("list")
def list_evaluators(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every installed evaluator with its version, main metric and needs."""
    from saebench.errors import SaebenchError
    from saebench.registry import evaluators

    rows = []
    for name in evaluators.names():
        row = {"name": name, "package": evaluators.source(name)}
        try:
            cls = evaluators.get(name)
        except SaebenchError as exc:  # one broken plug-in must not hide the others
            rows.append({**row, "description": f"BROKEN: {exc}"})
            continue
        needs = cls.needs_for(cls.Config()).model_dump()
        needs["passes"] = needs["passes"] > 1
        row.update(
            version=cls.version,
            main_metric=cls.main_metric,
            needs=", ".join(k for k, v in needs.items() if v and k != "activations"),
            description=cls.description,
        )
        rows.append(row)
    emit_json(rows) if as_json else emit_table(rows)
