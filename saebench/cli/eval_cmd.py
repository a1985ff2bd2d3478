"""``saebench eval``: evaluate checkpoints, print a table, write records."""

from __future__ import annotations

import contextlib
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
    llm_settings,
)
from saebench.cli.output import emit_json, parse_settings, warn_partial


def eval_command(
    saes: list[str] = typer.Argument(..., help="SAE URIs or paths (saelens:..., zoo:NAME, PATH)"),
    model: str = typer.Option(None, "--model", help="TransformerLens name, 'zoo' or a folder"),
    dataset: str = typer.Option(
        None,
        "--dataset",
        help=".txt/.jsonl file, token ids (.pt/.npy/.safetensors), 'zoo', HF name",
    ),
    evals: str = typer.Option("reconstruction,sparsity", "--evals", help="comma-separated"),
    tokens: int = typer.Option(
        None, "--tokens", help="tokens to evaluate on [default: 200000, or all the dataset has]"
    ),
    context_size: int = typer.Option(
        None, "--context-size", help="default: each SAE's own, at most 128"
    ),
    prepend_bos: bool = typer.Option(
        None, "--prepend-bos/--no-prepend-bos", help="default: each SAE's own"
    ),
    separator: str = typer.Option(
        None, "--separator", help="between packed documents: bos, eos, sep, none or an id"
    ),
    batch_size: int = typer.Option(None, "--batch-size", help="contexts per batch (auto)"),
    device: str = typer.Option(None, "--device", help="default: cuda if present, else cpu"),
    model_dtype: str = typer.Option(None, "--model-dtype"),
    sae_dtype: str = typer.Option(None, "--sae-dtype"),
    out: Path = typer.Option(Path("results"), "--out", help="folder for result records"),
    cache_dir: Path = CACHE_DIR,
    settings: list[str] = typer.Option([], "--set", help="EVALUATOR.FIELD=VALUE, repeatable"),
    llm_model: str = LLM_MODEL,
    llm_base_url: str = LLM_BASE_URL,
    llm_max_attempts: int = LLM_MAX_ATTEMPTS,
    llm_deadline: float = LLM_DEADLINE,
    controls: str = typer.Option(
        None,
        "--controls",
        help="controls beside each SAE: permuted_decoder,matched_l0_random,random_init",
    ),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="reuse finished records"),
    executor: str = typer.Option("local", "--executor", help="local or ray (one task per group)"),
    address: str = ADDRESS,
    num_cpus: float = NUM_CPUS,
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
    as_json: bool = typer.Option(False, "--json", help="print records as JSON"),
) -> None:
    """Evaluate one or more SAEs and print their leaderboard rows."""
    from saebench.executors import execute
    from saebench.leaderboard import table_text
    from saebench.request import RunRequest

    request = RunRequest.build(
        saes,
        model=model,
        dataset=dataset,
        evaluators=evals,
        n_tokens=tokens,
        configs=parse_settings(settings),
        context_size=context_size,
        prepend_bos=prepend_bos,
        separator=_separator(separator),
        batch_size=batch_size,
        device=device,
        model_dtype=model_dtype,
        sae_dtype=sae_dtype,
        out_dir=out,
        cache_dir=cache_dir,
        resume=resume,
        progress=not quiet and not as_json,
        llm=llm_settings(llm_model, llm_base_url, llm_max_attempts, llm_deadline),
        controls=controls,
        executor={"name": executor, "address": address, "num_cpus": num_cpus},
    )
    # Libraries may print; with --json, stdout carries the JSON and nothing else.
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        records = execute(request)
    if as_json:
        emit_json([r.model_dump(mode="json") for r in records])
        return
    print(table_text(records))
    warn_partial(records)
    if not quiet:
        print(f"\n{len(records)} record(s) in {out}/")


def _separator(value: str | None) -> str | int | None:
    return int(value) if value is not None and value.isdigit() else value
