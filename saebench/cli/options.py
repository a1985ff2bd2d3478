"""Options several commands share, declared once (typer reads them as parameter defaults)."""

from __future__ import annotations

import typer

LLM_MODEL = typer.Option(
    None, "--llm-model", help="judge of LLM evaluators (env SAEBENCH_LLM_MODEL)"
)
LLM_BASE_URL = typer.Option(
    None, "--llm-base-url", help="its OpenAI-compatible server (env SAEBENCH_LLM_BASE_URL)"
)
LLM_MAX_ATTEMPTS = typer.Option(
    None, "--llm-max-attempts", help="tries per judge request (env SAEBENCH_LLM_MAX_ATTEMPTS)"
)
LLM_DEADLINE = typer.Option(
    None,
    "--llm-deadline",
    help="seconds per judge request, retries included (env SAEBENCH_LLM_DEADLINE)",
)
CACHE_DIR = typer.Option(None, "--cache-dir", help="keep activations here")
ADDRESS = typer.Option(None, "--address", help="Ray cluster address, e.g. auto")
NUM_CPUS = typer.Option(None, "--num-cpus", help="CPUs per Ray task")


def llm_settings(
    model: str | None,
    base_url: str | None,
    max_attempts: int | None = None,
    deadline: float | None = None,
) -> dict:
    """The judge's flags as ``llm=`` settings (unset ones come from the suite or environment)."""
    given = {
        "model": model,
        "base_url": base_url,
        "max_attempts": max_attempts,
        "deadline_seconds": deadline,
    }
    return {key: value for key, value in given.items() if value is not None}
