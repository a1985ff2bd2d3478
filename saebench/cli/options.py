"""Options several commands share, declared once as ``Annotated`` types.

A command names the type and its default (``cache_dir: CacheDir = None``); the flag and its
help live here, so ``eval``, ``run`` and ``quickstart`` cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

LlmModel = Annotated[
    str, typer.Option("--llm-model", help="judge of LLM evaluators (env SAEBENCH_LLM_MODEL)")
]
LlmBaseUrl = Annotated[
    str,
    typer.Option("--llm-base-url", help="its OpenAI-compatible server (env SAEBENCH_LLM_BASE_URL)"),
]
LlmMaxAttempts = Annotated[
    int,
    typer.Option(
        "--llm-max-attempts", help="tries per judge request (env SAEBENCH_LLM_MAX_ATTEMPTS)"
    ),
]
LlmDeadline = Annotated[
    float,
    typer.Option(
        "--llm-deadline",
        help="seconds per judge request, retries included (env SAEBENCH_LLM_DEADLINE)",
    ),
]
CacheDir = Annotated[Path, typer.Option("--cache-dir", help="keep activations here")]
Address = Annotated[str, typer.Option("--address", help="Ray cluster address, e.g. auto")]
NumCpus = Annotated[float, typer.Option("--num-cpus", help="CPUs per Ray task")]


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
