"""``saebench eval``: evaluate checkpoints, print a table, write records."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from saebench.cli.options import (
    Address,
    CacheDir,
    LlmBaseUrl,
    LlmDeadline,
    LlmMaxAttempts,
    LlmModel,
    NumCpus,
    llm_settings,
)
from saebench.cli.output import emit_json, parse_settings, warn_partial

# The flags of `saebench eval`. A parameter named like a RunRequest field (model, n_tokens,
# out_dir, ...) passes to the request as it is; _request turns the others into fields.
Saes = Annotated[list[str], typer.Argument(help="SAE URIs or paths (saelens:..., zoo:NAME, PATH)")]
Model = Annotated[str, typer.Option("--model", help="TransformerLens name, 'zoo' or a folder")]
Dataset = Annotated[
    str,
    typer.Option(
        "--dataset", help=".txt/.jsonl file, token ids (.pt/.npy/.safetensors), 'zoo', HF name"
    ),
]
Evals = Annotated[str, typer.Option("--evals", help="comma-separated")]
Tokens = Annotated[
    int,
    typer.Option(
        "--tokens", help="tokens to evaluate on [default: 200000, or all the dataset has]"
    ),
]
ContextSize = Annotated[
    int, typer.Option("--context-size", help="default: each SAE's own, at most 128")
]
PrependBos = Annotated[
    bool, typer.Option("--prepend-bos/--no-prepend-bos", help="default: each SAE's own")
]
Separator = Annotated[
    str,
    typer.Option("--separator", help="between packed documents: bos, eos, sep, none or an id"),
]
BatchSize = Annotated[int, typer.Option("--batch-size", help="contexts per batch (auto)")]
Device = Annotated[str, typer.Option("--device", help="default: cuda if present, else cpu")]
ModelDtype = Annotated[str, typer.Option("--model-dtype")]
SaeDtype = Annotated[str, typer.Option("--sae-dtype")]
Out = Annotated[Path, typer.Option("--out", help="folder for result records")]
Settings = Annotated[list[str], typer.Option("--set", help="EVALUATOR.FIELD=VALUE, repeatable")]
Controls = Annotated[
    str,
    typer.Option(
        "--controls",
        help="controls beside each SAE: permuted_decoder,matched_l0_random,random_init",
    ),
]
Resume = Annotated[bool, typer.Option("--resume/--no-resume", help="reuse finished records")]
Executor = Annotated[str, typer.Option("--executor", help="local or ray (one task per group)")]
Quiet = Annotated[bool, typer.Option("--quiet", help="no progress bars")]
AsJson = Annotated[bool, typer.Option("--json", help="print records as JSON")]


def eval_command(
    saes: Saes,
    model: Model = None,
    dataset: Dataset = None,
    evaluators: Evals = "reconstruction,sparsity",
    n_tokens: Tokens = None,
    context_size: ContextSize = None,
    prepend_bos: PrependBos = None,
    separator: Separator = None,
    batch_size: BatchSize = None,
    device: Device = None,
    model_dtype: ModelDtype = None,
    sae_dtype: SaeDtype = None,
    out_dir: Out = Path("results"),
    cache_dir: CacheDir = None,
    settings: Settings = None,
    llm_model: LlmModel = None,
    llm_base_url: LlmBaseUrl = None,
    llm_max_attempts: LlmMaxAttempts = None,
    llm_deadline: LlmDeadline = None,
    controls: Controls = None,
    resume: Resume = True,
    executor: Executor = "local",
    address: Address = None,
    num_cpus: NumCpus = None,
    quiet: Quiet = False,
    as_json: AsJson = False,
) -> None:
    """Evaluate one or more SAEs and print their leaderboard rows."""
    request = _request(**locals())  # first: locals() are the flags and nothing else
    from saebench.run.executors import execute

    # Libraries may print; with --json, stdout carries the JSON and nothing else.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        records = execute(request)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in records])
    else:
        _print_records(records, out_dir, quiet)


def _request(
    *,
    settings: list[str] | None,
    separator: str | None,
    llm_model: str | None,
    llm_base_url: str | None,
    llm_max_attempts: int | None,
    llm_deadline: float | None,
    executor: str,
    address: str | None,
    num_cpus: float | None,
    quiet: bool,
    as_json: bool,
    **fields: Any,
):
    """The run request of the command's flags: ``fields`` are named as the request's."""
    from saebench.run.request import RunRequest

    return RunRequest.build(
        configs=parse_settings(settings or []),
        separator=_separator(separator),
        llm=llm_settings(llm_model, llm_base_url, llm_max_attempts, llm_deadline),
        executor={"name": executor, "address": address, "num_cpus": num_cpus},
        progress=not quiet and not as_json,
        **fields,
    )


def _print_records(records: list, out_dir: Path, quiet: bool) -> None:
    from saebench.results.leaderboard import table_text

    print(table_text(records))
    warn_partial(records)
    if not quiet:
        print(f"\n{len(records)} record(s) in {out_dir}/")


def _separator(value: str | None) -> str | int | None:
    return int(value) if value is not None and value.isdigit() else value
