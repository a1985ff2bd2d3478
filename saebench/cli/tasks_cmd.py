"""``saebench tasks list`` and ``saebench tasks show NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from saebench.cli.output import emit_json, emit_table

app = typer.Typer(help="Installed prompt tasks.", no_args_is_help=True)

SET_HELP = "A config field, FIELD=VALUE (VALUE as JSON when it parses); repeatable."


@app.command("list")
def list_tasks(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every installed task with its version, splits, attributes and prompt count."""
    from saebench.errors import SaebenchError
    from saebench.registry import tasks
    from saebench.tasks.base import build_task

    rows = []
    for name in tasks.names():
        row = {"name": name, "package": tasks.source(name)}
        if needed := _required_fields(tasks.get(name)):
            # a task that reads the user's files (ravel: data_dir) has no default to list
            flags = " ".join(f"--set {f}=..." for f in needed)
            rows.append({**row, "description": f"needs {flags} (see `saebench tasks show {name}`)"})
            continue
        try:  # one task whose data is missing (an optional wheel) must not hide the others
            task = build_task(name)
            row.update(
                version=task.version,
                splits=", ".join(task.splits),
                attributes=", ".join(task.attribute_values()),
                prompts=len(task.prompts()),
                description=task.description,
            )
        except SaebenchError as exc:
            row = {**row, "description": f"unavailable: {exc}"}
        rows.append(row)
    emit_json(rows) if as_json else emit_table(rows)


Name = Annotated[str, typer.Argument(help="A task name from `saebench tasks list`.")]
Settings = Annotated[list[str], typer.Option("--set", help=SET_HELP)]
DataDir = Annotated[
    str | None,
    typer.Option(
        "--data-dir", help="The task's data folder (config data_dir; ravel: RAVEL's files)."
    ),
]
EntityType = Annotated[
    str | None,
    typer.Option(
        "--entity-type", help="The entity type (config entity_type; ravel: city, verb, ...)."
    ),
]
Split = Annotated[str | None, typer.Option(help="The split whose prompts to print.")]
Count = Annotated[int, typer.Option("-n", help="Prompts to print per split.")]
AsJson = Annotated[bool, typer.Option("--json")]


@app.command("show")
def show_task(
    name: Name,
    settings: Settings = None,
    data_dir: DataDir = None,
    entity_type: EntityType = None,
    split: Split = None,
    n: Count = 5,
    as_json: AsJson = False,
) -> None:
    """A task's config, attributes, pair builders, counts per split and example prompts
    (spans shown as [text]{name}); a task that describes its data (ravel: entities,
    attributes and templates per split) prints that too."""
    from saebench.tasks.base import build_task

    config = _config(settings or [])
    for field, value in (("data_dir", data_dir), ("entity_type", entity_type)):
        if value is not None:
            config[field] = value
    task = build_task(name, config)
    spec = task.spec()
    splits = [split] if split else list(task.splits)
    examples = {s: task.prompts(s)[:n] for s in splits}
    values = task.attribute_values()
    data = task.describe() if callable(getattr(task, "describe", None)) else None
    if as_json:
        emit_json(_task_json(task, spec, values, examples, data))
    else:
        _print_task(task, spec, values, examples, data)


def _task_json(task, spec, values: dict, examples: dict, data: dict | None) -> dict:
    return {
        **spec.model_dump(),
        "description": task.description,
        "attributes": {k: len(v) for k, v in values.items()},
        "pair_builders": sorted(task.pair_builders()),
        "counts": task.counts(),
        **({"data": data} if data is not None else {}),
        "prompts": {s: [_prompt_row(p) for p in ps] for s, ps in examples.items()},
    }


def _print_task(task, spec, values: dict, examples: dict, data: dict | None) -> None:
    print(f"{spec.name} v{spec.version}: {task.description}")
    print(f"config: {spec.config}   fingerprint: {spec.fingerprint}")
    print(f"pair builders: {', '.join(sorted(task.pair_builders())) or 'none'}\n")
    emit_table([_attribute_row(k, v) for k, v in values.items()])
    print()
    if data is not None:
        _print_data(data)
    emit_table([{"split": s, **c} for s, c in task.counts().items()])
    for s, prompts in examples.items():
        print(f"\n{s}:")
        emit_table([_prompt_row(p) for p in prompts])


def _config(settings: list[str]) -> dict:
    import json

    from saebench.errors import SaebenchError

    config = {}
    for pair in settings:
        field, sep, value = pair.partition("=")
        if not sep or not field:
            raise SaebenchError(f"--set {pair!r}: write it as FIELD=VALUE")
        try:
            config[field] = json.loads(value)
        except json.JSONDecodeError:
            config[field] = value
    return config


def _required_fields(cls) -> list[str]:
    return [f for f, info in cls.Config.model_fields.items() if info.is_required()]


def _print_data(data: dict) -> None:
    """A task's own description of its data: entities per split, then per attribute."""
    if entities := data.get("entities", {}):
        print(f"entities: {', '.join(f'{s} {k}' for s, k in entities.items())}")
    rows = []
    for attribute, row in data.get("attributes", {}).items():
        templates = row.pop("templates", {})
        rows.append(
            {"attribute": attribute, **{f"templates {s}": k for s, k in templates.items()}, **row}
        )
    emit_table(rows)
    notes = {k: v for k, v in data.items() if k not in ("entities", "attributes")}
    if notes:
        print("; ".join(f"{k}: {v}" for k, v in notes.items()))
    print()


def _attribute_row(name: str, values: list[str]) -> dict:
    shown = ", ".join(values[:6]) + (", ..." if len(values) > 6 else "")
    return {"attribute": name, "values": len(values), "examples": shown}


def _prompt_row(prompt) -> dict:
    return {
        "prompt": mark_spans(prompt.text, prompt.spans),
        "answer": prompt.answer,
        "asks": prompt.asks,
        "attributes": ", ".join(f"{k}={v}" for k, v in prompt.attributes.items()),
    }


def mark_spans(text: str, spans) -> str:
    """``text`` with each span written ``[text]{name}`` (spans must not overlap)."""
    out, at = "", 0
    for name, (start, end) in sorted(spans.items(), key=lambda item: item[1]):
        out += text[at:start] + f"[{text[start:end]}]{{{name}}}"
        at = end
    return out + text[at:]
