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
        row.update(
            version=cls.version,
            main_metric=cls.main_metric,
            needs=_needs_text(cls.needs_for(cls.Config())),
            description=cls.description,
        )
        rows.append(row)
    emit_json(rows) if as_json else emit_table(rows)


def _needs_text(needs) -> str:
    """What the run provides beyond streamed activations: the needs that are not the default,
    e.g. ``downstream, passes=2``."""
    default = type(needs)().model_dump()
    shown = []
    for key, value in needs.model_dump().items():
        if key == "activations" or value == default[key]:
            continue
        if isinstance(value, dict):  # a task request: its name says enough here
            value = value.get("name", value)
        shown.append(key if value is True else f"{key}={value}")
    return ", ".join(shown)
