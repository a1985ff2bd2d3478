"""``saebench zoo list`` and ``saebench quickstart`` (the embedded default)."""

from __future__ import annotations

from pathlib import Path

import typer

from saebench.cli.options import LlmBaseUrl, LlmDeadline, LlmMaxAttempts, LlmModel
from saebench.cli.output import emit_json, emit_table

app = typer.Typer(help="The embedded default model and its SAEs.", no_args_is_help=True)


@app.command("list")
def list_zoo(as_json: bool = typer.Option(False, "--json")) -> None:
    """The zoo's SAEs with their hooks and widths."""
    from saebench.zoo.catalog import describe

    rows = describe()
    emit_json(rows) if as_json else emit_table(rows)


def quickstart_command(
    out: Path = typer.Option(Path("quickstart"), "--out", help="records and report go here"),
    tokens: int = typer.Option(None, "--tokens", help="tokens per SAE (default: quickstart's)"),
    quiet: bool = typer.Option(False, "--quiet"),
    llm_model: LlmModel = None,
    llm_base_url: LlmBaseUrl = None,
    llm_max_attempts: LlmMaxAttempts = None,
    llm_deadline: LlmDeadline = None,
) -> None:
    """Evaluate every zoo SAE offline and write a leaderboard and a report."""
    from saebench.cli.options import llm_settings
    from saebench.quickstart import run_quickstart

    llm = llm_settings(llm_model, llm_base_url, llm_max_attempts, llm_deadline)
    run_quickstart(out, n_tokens=tokens, progress=not quiet, llm=llm)
