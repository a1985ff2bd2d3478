"""The quickstart end to end on the shipped zoo (a reduced token budget): it is a run of the
quickstart suite (run once for the module, shared by the tests)."""

import warnings

import pytest

from saebench.cli.main import main
from saebench.records import load_records
from saebench.zoo.catalog import sae_names

TOKENS = 4096


# The shipped quickstart runs every offline evaluator at sizes where differences exceed
# noise: minutes of CPU (docs and README give the time). The default test runs it with the
# streamed evaluators only; the whole of it is the slow test at the end.
FAST_EVALUATORS = ["reconstruction", "sparsity", "mdl"]


def _run(out, evaluators=None, embeddings=False):
    import contextlib
    import io

    from saebench import quickstart as module

    shipped = module.quickstart_suite
    suite = shipped()
    if evaluators is not None:
        from saebench.run.suites import EvaluatorEntry

        entries = [EvaluatorEntry(name=name) for name in evaluators]
        suite = suite.model_copy(update={"evaluators": entries})
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "quickstart_suite", lambda: suite)
        if not embeddings:  # the embedding part has its own tests below
            patch.setattr(module, "embedding_suite", lambda: None)
        with contextlib.redirect_stdout(stdout), pytest.raises(SystemExit) as exit_info:
            main(["quickstart", "--out", str(out), "--tokens", str(TOKENS), "--quiet"])
    return out, exit_info.value.code, stdout.getvalue(), suite


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    if not sae_names():
        pytest.skip("no zoo SAEs; build them with python -m saebench.zoo.build.zoo_saes")
    return _run(tmp_path_factory.mktemp("quickstart"), FAST_EVALUATORS)


def test_quickstart_writes_records_table_report_and_plot(quickstart):
    out_dir, code, out, _ = quickstart
    assert code == 0
    records = load_records(out_dir / "records")
    evaluators = {r.evaluator.name for r in records}
    assert {"reconstruction", "sparsity", "mdl"} <= evaluators
    assert {r.sae.name for r in records if r.sae.role == "sae"} == set(sae_names())
    controls = {r.sae.name for r in records if r.sae.role == "control"}
    assert controls == {"resid-topk-16~permuted_decoder", "resid-topk-16~matched_l0_random"}
    streamed = [r for r in records if r.dataset is not None]
    assert streamed and all(r.dataset.n_tokens == TOKENS for r in streamed)
    report = (out_dir / "report.md").read_text()
    assert "resid-topk-16" in report and "l0_vs_ce_loss_score.png" in report
    assert (out_dir / "l0_vs_ce_loss_score.png").read_bytes()[:4] == b"\x89PNG"
    # the table is sorted by the main metric of the first evaluator with a direction
    assert out.index("#  sae") < out.index("resid-random")


def test_the_quickstart_is_a_run_of_the_quickstart_suite(quickstart):
    """Its records are exactly those the shipped suite plans (same keys: evaluators, presets,
    token set), each once; an LLM evaluator is skipped without a judge."""
    from saebench.quickstart import runnable_evaluators

    out_dir, _, out, suite = quickstart
    suite = suite.model_copy(update={"tokens": TOKENS})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the skip warning, already shown by the quickstart
        groups = suite.plan(progress=False)
    planned = {g.key(s, e) for g in groups for s in g.saes for e in g.evaluators}
    records = load_records(out_dir / "records")
    measured = [r for r in records if r.sae.role in ("sae", "control")]
    assert sorted(r.key for r in measured) == sorted(planned)
    # the rest are reference records, measured beside the SAEs and keyed without them
    assert {r.sae.role for r in records} - {"sae", "control"} <= {"reference"}
    _, skipped = runnable_evaluators(None, suite.evaluator_configs()[0])
    for name in skipped:
        assert f"skipped {name}: needs" in out


def test_a_zoo_sae_alone_gets_the_records_it_got_beside_every_other(quickstart):
    """The quickstart evaluates all zoo SAEs in one call; each alone gives the same keys and
    numbers (float32 forwards at another batch shape differ in the last bits)."""
    import saebench

    out_dir, _, _, _ = quickstart
    together = {(r.sae.name, r.evaluator.name): r for r in load_records(out_dir / "records")}
    for name in ("resid-relu", "transcoder-mlp"):
        alone = saebench.evaluate(
            f"zoo:{name}",
            model="zoo",
            dataset="zoo",
            evaluators=["reconstruction", "mdl"],
            n_tokens=TOKENS,
            progress=False,
        )
        for record in alone:
            other = together[(name, record.evaluator.name)]
            assert other.key == record.key
            for metric, value in record.metrics.items():
                assert other.metrics[metric] == pytest.approx(value, rel=2e-5, abs=1e-7), metric


@pytest.mark.slow
def test_the_whole_shipped_quickstart_runs_every_offline_evaluator(tmp_path):
    out_dir, code, out, suite = _run(tmp_path)
    assert code == 0
    from saebench.quickstart import runnable_evaluators

    evaluators = {r.evaluator.name for r in load_records(out_dir / "records")}
    offline, _ = runnable_evaluators(None, suite.evaluator_configs()[0])
    # circuits reads per-head SAEs only and the zoo ships none in zoo:*: it writes no record
    assert evaluators == set(offline) - {"circuits"}
    assert {"reconstruction", "ravel", "absorption", "decoder_structure"} <= evaluators
    # autointerp needs a judge and is listed as skipped
    assert "skipped autointerp: needs" in out


def test_the_embedding_part_is_the_minilm_suite_when_its_extra_is_installed(monkeypatch):
    from importlib import util

    from saebench import quickstart as module

    suite = module.embedding_suite()
    if suite is not None:  # the extra is installed (dev installs it)
        assert suite.name == "minilm" and suite.preset == "quickstart"
        assert suite.model == "minilm-l6"
    real = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name: None if "minilm" in name else real(name))
    assert module.embedding_suite() is None


def test_without_the_extra_the_quickstart_says_how_to_add_it(tmp_path, monkeypatch, capsys):
    from saebench import quickstart as module

    monkeypatch.setattr(module, "embedding_suite", lambda: None)
    assert module._embedding_part(tmp_path, progress=False) == ""
    assert "saebench[embeddings]" in capsys.readouterr().out


@pytest.mark.slow
def test_the_quickstart_adds_the_embedding_board_to_its_records_and_report(tmp_path):
    from saebench import quickstart as module

    if module.embedding_suite() is None:
        pytest.skip("the embeddings extra is not installed")
    out_dir, code, out, _ = _run(tmp_path, FAST_EVALUATORS, embeddings=True)
    assert code == 0
    records = load_records(out_dir / "records")
    minilm = {r.sae.name for r in records if r.model.name == "minilm-l6" and r.sae.role == "sae"}
    assert {"minilm-topk-16", "minilm-random"} <= minilm
    report = (out_dir / "report.md").read_text()
    assert "SAEs on sentence embeddings" in report and "minilm-topk-16" in report
