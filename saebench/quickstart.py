"""``saebench quickstart``: the whole harness, offline, on the embedded default.

Every zoo SAE is evaluated by every installed evaluator that needs no external service, in
one call (so the model runs once per batch for all of them); the leaderboard is printed
and a report (markdown + a PNG of L0 against CE-loss score with the Pareto frontier) is
written next to the records.
"""

from __future__ import annotations

from pathlib import Path

from saebench.errors import SaebenchError
from saebench.files import atomic_write_text

DEFAULT_TOKENS = 32_768
L0, CE_SCORE = "sparsity.l0", "reconstruction.ce_loss_score"


def runnable_evaluators() -> tuple[list[str], dict[str, str]]:
    """Evaluators that run offline, and those skipped with the setting that enables them."""
    from saebench.registry import evaluators

    run, skipped = [], {}
    for name in evaluators.names():
        cls = evaluators.get(name)
        needs = cls.needs_for(cls.Config())
        if needs.llm:
            skipped[name] = getattr(cls, "enable_hint", "an OpenAI-compatible server (--llm-url)")
        else:
            run.append(name)
    return run, skipped


def run_quickstart(out: Path, n_tokens: int | None = None, progress: bool = True) -> Path:
    """Evaluate the zoo and write ``out/records``, ``out/report.md`` and the plot."""
    from saebench.executors import evaluate
    from saebench.leaderboard import leaderboard, render
    from saebench.plots import plot_tradeoff
    from saebench.zoo.catalog import sae_names

    names = sae_names()
    if not names:
        raise SaebenchError(
            "the zoo has no SAEs; rebuild them with python -m saebench.zoo.build_saes"
        )
    evaluator_names, skipped = runnable_evaluators()
    records = evaluate(
        [f"zoo:{name}" for name in names],
        model="zoo",
        dataset="zoo",
        evaluators=evaluator_names,
        n_tokens=n_tokens or DEFAULT_TOKENS,
        out_dir=out / "records",
        progress=progress,
    )
    frame = leaderboard(records)
    table = render(frame)
    print(table)
    for name, hint in skipped.items():
        print(f"skipped {name}: needs {hint}")
    plot = plot_tradeoff(
        frame,
        L0,
        CE_SCORE,
        out / "l0_vs_ce_loss_score.png",
        title="zoo SAEs: sparsity against downstream fidelity",
    )
    report = _report(table, records, skipped, plot.name)
    atomic_write_text(out / "report.md", report)
    print(f"\nreport: {out / 'report.md'}  plot: {plot}  records: {out / 'records'}/")
    return out / "report.md"


def _report(table: str, records, skipped: dict[str, str], plot_name: str) -> str:
    first = records[0]
    lines = [
        "# saebench quickstart",
        "",
        f"Model `{first.model.name}`, dataset `{first.dataset.name}`, "
        f"{first.dataset.n_tokens} tokens in {first.dataset.context_size}-token contexts, "
        f"saebench {first.provenance.saebench_version} ({first.provenance.git_commit}).",
        "",
        table,
        "",
        f"![L0 against CE-loss score]({plot_name})",
        "",
    ]
    lines += [f"- skipped `{name}`: needs {hint}" for name, hint in skipped.items()]
    return "\n".join(lines) + "\n"
