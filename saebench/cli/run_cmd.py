"""``saebench run SUITE``: plan a suite into groups, run them (local or Ray), print the table."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from saebench.cli.options import (
    ADDRESS,
    CACHE_DIR,
    LLM_BASE_URL,
    LLM_DEADLINE,
    LLM_MAX_ATTEMPTS,
    LLM_MODEL,
    NUM_CPUS,
)


def run_command(
    suite: Path = typer.Argument(..., help="a suite file, e.g. evals/quickstart.yaml"),
    executor: str = typer.Option(None, "--executor", help="local or ray (default: the suite's)"),
    address: str = ADDRESS,
    out: Path = typer.Option(None, "--out", help="records folder (default: the suite's out)"),
    num_cpus: float = NUM_CPUS,
    num_gpus: float = typer.Option(None, "--num-gpus", help="GPUs per Ray task"),
    cache_dir: Path = CACHE_DIR,
    dry_run: bool = typer.Option(False, "--dry-run", help="show the plan; load nothing"),
    llm_model: str = LLM_MODEL,
    llm_base_url: str = LLM_BASE_URL,
    llm_max_attempts: int = LLM_MAX_ATTEMPTS,
    llm_deadline: float = LLM_DEADLINE,
    quiet: bool = typer.Option(False, "--quiet", help="no progress lines or bars"),
) -> None:
    """Run an evaluation suite; records already in the output folder are reused."""
    from saebench.cli.options import llm_settings
    from saebench.cli.output import warn_partial
    from saebench.errors import SaebenchError
    from saebench.suites import load_suite, run_suite

    if executor not in (None, "local", "ray"):
        raise SaebenchError(f"--executor {executor}: use local or ray")
    loaded = load_suite(suite)
    if dry_run:
        print("\n".join(loaded.dry_plan().lines()))
        print(f"records: {out or loaded.out_dir()}/")
        return
    from saebench.executors_ray import GroupsFailed

    try:
        records = run_suite(
            loaded,
            out,
            executor=executor,
            address=address,
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            cache_dir=cache_dir,
            llm=llm_settings(llm_model, llm_base_url, llm_max_attempts, llm_deadline),
            progress=not quiet,
        )
    except GroupsFailed as failed:
        _print_table(failed.records)
        for failure in failed.failures:
            print(f"error: {failure.line()}", file=sys.stderr)
        print(
            f"{len(failed.failures)} group(s) failed, {len(failed.records)} record(s) kept; "
            "fix the cause and rerun the same command to resume",
            file=sys.stderr,
        )
        raise typer.Exit(1) from None
    _print_table(records)
    warn_partial(records)
    if not quiet:
        print(f"\n{len(records)} record(s) in {out or loaded.out_dir()}/")


def _print_table(records) -> None:
    from saebench.leaderboard import table_text

    if records:
        print(table_text(records))
