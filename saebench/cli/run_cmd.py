"""``saebench run SUITE``: plan a suite into groups, run them (local or Ray), print the table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from saebench.cli.options import (
    Address,
    CacheDir,
    LlmBaseUrl,
    LlmDeadline,
    LlmMaxAttempts,
    LlmModel,
    NumCpus,
)

SuiteFile = Annotated[Path, typer.Argument(help="a suite file, e.g. evals/quickstart.yaml")]
Executor = Annotated[str, typer.Option("--executor", help="local or ray (default: the suite's)")]
Out = Annotated[Path, typer.Option("--out", help="records folder (default: the suite's out)")]
NumGpus = Annotated[float, typer.Option("--num-gpus", help="GPUs per Ray task")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="show the plan; load nothing")]
Quiet = Annotated[bool, typer.Option("--quiet", help="no progress lines or bars")]


def run_command(
    suite: SuiteFile,
    executor: Executor = None,
    address: Address = None,
    out: Out = None,
    num_cpus: NumCpus = None,
    num_gpus: NumGpus = None,
    cache_dir: CacheDir = None,
    dry_run: DryRun = False,
    llm_model: LlmModel = None,
    llm_base_url: LlmBaseUrl = None,
    llm_max_attempts: LlmMaxAttempts = None,
    llm_deadline: LlmDeadline = None,
    quiet: Quiet = False,
) -> None:
    """Run an evaluation suite; records already in the output folder are reused."""
    from saebench.cli.options import llm_settings
    from saebench.cli.output import warn_partial
    from saebench.errors import SaebenchError
    from saebench.run.suites import load_suite, run_suite

    if executor not in (None, "local", "ray"):
        raise SaebenchError(f"--executor {executor}: use local or ray")
    loaded = load_suite(suite)
    if dry_run:
        _print_plan(loaded, out)
        return
    from saebench.run.ray_executor import GroupsFailed

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
        _report_failure(failed)
        raise typer.Exit(1) from None
    _print_table(records)
    warn_partial(records)
    if not quiet:
        print(f"\n{len(records)} record(s) in {out or loaded.out_dir()}/")


def _print_plan(loaded, out: Path | None) -> None:
    print("\n".join(loaded.dry_plan().lines()))
    print(f"records: {out or loaded.out_dir()}/")


def _report_failure(failed) -> None:
    """The records kept, one line per failed group, and how to resume."""
    _print_table(failed.records)
    for failure in failed.failures:
        print(f"error: {failure.line()}", file=sys.stderr)
    print(
        f"{len(failed.failures)} group(s) failed, {len(failed.records)} record(s) kept; "
        "fix the cause and rerun the same command to resume",
        file=sys.stderr,
    )


def _print_table(records) -> None:
    from saebench.results.leaderboard import table_text

    if records:
        print(table_text(records))
