"""``saebench tasks list`` and ``saebench tasks show NAME``."""

from __future__ import annotations

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
        try:
            task = build_task(name)
        except SaebenchError as exc:  # one broken plug-in must not hide the others
            rows.append({**row, "description": f"BROKEN: {exc}"})
            continue
        row.update(
            version=task.version,
            splits=", ".join(task.splits),
            attributes=", ".join(task.attribute_values()),
            prompts=len(task.prompts()),
            description=task.description,
        )
        rows.append(row)
    emit_json(rows) if as_json else emit_table(rows)


@app.command("show")
def show_task(
    name: str = typer.Argument(..., help="A task name from `saebench tasks list`."),
    settings: list[str] = typer.Option([], "--set", help=SET_HELP),
    split: str | None = typer.Option(None, help="The split whose prompts to print."),
    n: int = typer.Option(5, "-n", help="Prompts to print per split."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A task's config, attributes, pair builders, counts per split and example prompts
    (spans shown as [text]{name})."""
    from saebench.tasks.base import build_task

    task = build_task(name, _config(settings))
    spec = task.spec()
    splits = [split] if split else list(task.splits)
    examples = {s: task.prompts(s)[:n] for s in splits}
    values = task.attribute_values()
    if as_json:
        emit_json(
            {
                **spec.model_dump(),
                "description": task.description,
                "attributes": {k: len(v) for k, v in values.items()},
                "pair_builders": sorted(task.pair_builders()),
                "counts": task.counts(),
                "prompts": {s: [_prompt_row(p) for p in ps] for s, ps in examples.items()},
            }
        )
        return
    print(f"{spec.name} v{spec.version}: {task.description}")
    print(f"config: {spec.config}   fingerprint: {spec.fingerprint}")
    print(f"pair builders: {', '.join(sorted(task.pair_builders())) or 'none'}\n")
    emit_table([_attribute_row(k, v) for k, v in values.items()])
    print()
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
