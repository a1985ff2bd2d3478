"""``saebench synth``: the synthetic tiers, training an SAE on one, evaluating SAEs on one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Synthetic activations with known features: tiers, training, evaluation.",
    no_args_is_help=True,
)

Tier = Annotated[str, typer.Option("--tier", help="a synthetic tier, e.g. synth-1k")]


@app.command("tiers")
def tiers_command(as_json: bool = typer.Option(False, "--json")) -> None:
    """The tiers: features N, width D, true L0 (when the tier is built), training recipe."""
    from saebench.cli.output import emit_json, emit_table
    from saebench.zoo.build.synth_saes import tier_rows

    rows = tier_rows()
    emit_json(rows) if as_json else emit_table(rows)


@app.command("train")
def train_command(
    tier: Tier = "synth-1k",
    arch: str = typer.Option("topk", "--arch", help="topk, batchtopk, relu, jumprelu, ..."),
    k: int = typer.Option(None, "--k", help="k of the TopK family, L0 target of the rest"),
    samples: int = typer.Option(None, "--samples", help="training samples (default: recipe)"),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(..., "--out", help="the SAE folder to write (SAELens format)"),
    threads: int = typer.Option(None, "--threads", help="torch threads (default: torch's)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress lines"),
) -> None:
    """Train one SAE on a tier's train stream and save it where `saebench` loads it."""
    import time

    from saebench.zoo.build import synth_saes as S

    S.recipe(tier), S.check_architecture(arch)  # refuse bad input before any work
    if threads:
        import torch

        torch.set_num_threads(threads)
    clock = time.perf_counter()
    x = S.tier_buffer(tier, samples)
    log = None if quiet else (lambda line: print(line, flush=True))
    trained = S.train(x, tier, arch, k=k, samples=samples, seed=seed, log=log)
    S.save(trained, out)
    wall = time.perf_counter() - clock
    print(
        f"trained {trained.sae.meta.architecture} on {tier}: {trained.samples} samples, "
        f"{trained.steps} steps, {trained.seconds:.1f}s training ({wall:.1f}s wall), "
        f"final loss {trained.final_loss}"
    )
    print(f"saved to {out}/")


GT_EVALS = "reconstruction,sparsity,mdl,ground_truth"


@app.command("eval")
def eval_command(
    saes: list[str] = typer.Argument(..., help="SAE folders or URIs trained on the tier"),
    tier: Tier = "synth-4k",
    evaluators: str = typer.Option(GT_EVALS, "--evals", help="comma-separated"),
    tokens: int = typer.Option(50_000, "--tokens", help="samples of the tier's eval stream"),
    out: Path = typer.Option(Path("results/synth"), "--out", help="folder for result records"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
    as_json: bool = typer.Option(False, "--json", help="print records as JSON"),
) -> None:
    """Evaluate SAEs on a tier: `saebench eval SAES --model TIER --evals ...` with the
    ground-truth evaluators by default (each sample is a context of one position)."""
    from saebench.cli import eval_cmd
    from saebench.synthetic.config import tier as tier_config

    tier_config(tier)  # an unknown tier is refused before anything loads
    eval_cmd.eval_command(
        saes,
        model=tier,
        evaluators=evaluators,
        n_tokens=tokens,
        out_dir=out,
        quiet=quiet,
        as_json=as_json,
    )
