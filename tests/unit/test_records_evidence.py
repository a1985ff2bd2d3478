"""Schema 3: intervals, references as records, partial records, content hashes."""

import json

import pytest
from helpers import make_sae

import saebench
from saebench.errors import SaebenchError, SaebenchWarning
from saebench.evaluators import (
    EvalMetrics,
    EvalResult,
    Evaluator,
    Needs,
    Reference,
    metric,
    register_evaluator,
)
from saebench.records import SCHEMA_VERSION, load_records, read_record
from saebench.registry import evaluators
from saebench.toolkit.intervals import bootstrap


def _evaluate(model, texts, out, saes, **kwargs):
    kwargs.setdefault("evaluators", ["reconstruction", "sparsity"])
    return saebench.evaluate(
        saes, model=model, dataset=texts, n_tokens=512, context_size=16, out_dir=out,
        device="cpu", progress=False, **kwargs,
    )  # fmt: skip


CALLS = []


@pytest.fixture
def scored():
    """An evaluator that scores 'pairs', measures a reference beside the SAE and can fail."""

    class ScoredMetrics(EvalMetrics):
        score: float = metric("share of pairs right", True)

    @register_evaluator("scored_test")
    class Scored(Evaluator):
        Metrics = ScoredMetrics
        main_metric = "score"
        needs = Needs(activations=False)

        def finish(self):
            CALLS.append(self.context.sae)
            if getattr(self.context.sae, "crash", False):
                raise RuntimeError("stopped mid-run")
            pairs = [1.0, 0.0, 1.0, 1.0]
            partial = getattr(self.context.sae, "fail", False)
            return EvalResult(
                metrics=ScoredMetrics(score=0.75),
                intervals={"score": bootstrap(pairs, unit="pairs")},
                nulls={"score": 0.5},
                sample_sizes={"pairs": 4},
                references=[Reference("oracle", "blocks.0.hook_resid_post", {"score": 1.0})],
                status="partial" if partial else "complete",
            )

    CALLS.clear()
    yield Scored
    evaluators._entries.pop("scored_test", None)


def test_records_carry_intervals_nulls_and_sample_sizes(tiny_model, texts, tmp_path):
    records = _evaluate(tiny_model, texts, tmp_path, [make_sae()])
    for record in records:
        main = record.main_interval
        assert main is not None and main.unit == "contexts" and main.n == 32
        assert main.low <= record.main_value <= main.high
        assert record.sample_sizes["contexts"] == 32
    loaded = {r.key: r for r in load_records(tmp_path)}
    assert all(loaded[r.key].intervals == r.intervals for r in records)


def test_references_are_records_of_their_own_keyed_without_the_sae(
    tiny_model, texts, tmp_path, scored
):
    records = _evaluate(tiny_model, texts, tmp_path, [make_sae(seed=1), make_sae(seed=2)],
                        evaluators=["scored_test"])  # fmt: skip
    roles = sorted(r.sae.role for r in records)
    assert roles == ["reference", "sae", "sae"]  # one reference record for both SAEs
    reference = next(r for r in records if r.sae.role == "reference")
    assert reference.sae.uri == "reference:scored_test/oracle@blocks.0.hook_resid_post"
    assert reference.metrics == {"score": 1.0} and reference.expected_key() == reference.key
    sae = next(r for r in records if r.sae.role == "sae")
    assert sae.nulls == {"score": 0.5} and sae.intervals["score"].n == 4
    assert len(load_records(tmp_path)) == 3


def test_a_partial_record_is_computed_again_on_resume(tiny_model, texts, tmp_path, scored):
    sae = make_sae()
    sae.fail = True
    first = _evaluate(tiny_model, texts, tmp_path, [sae], evaluators=["scored_test"])
    assert first[0].status == "partial" and len(CALLS) == 1
    with pytest.warns(SaebenchWarning, match="partial"):
        _evaluate(tiny_model, texts, tmp_path, [sae], evaluators=["scored_test"])
    assert len(CALLS) == 2
    sae.fail = False
    with pytest.warns(SaebenchWarning, match="partial"):
        _evaluate(tiny_model, texts, tmp_path, [sae], evaluators=["scored_test"])
    _evaluate(tiny_model, texts, tmp_path, [sae], evaluators=["scored_test"])
    assert len(CALLS) == 3  # the complete record is kept


def test_a_run_stopped_mid_group_keeps_the_records_it_finished(tiny_model, texts, tmp_path, scored):
    first, second = make_sae(seed=1), make_sae(seed=2)
    second.crash = True
    with pytest.raises(RuntimeError, match="stopped mid-run"):
        _evaluate(tiny_model, texts, tmp_path, [first, second], evaluators=["scored_test"])
    kept = load_records(tmp_path)
    assert sorted(r.sae.role for r in kept) == ["reference", "sae"]  # written before the crash
    second.crash = False
    _evaluate(tiny_model, texts, tmp_path, [first, second], evaluators=["scored_test"])
    assert [first, second, second] == CALLS  # the resumed run computes only the second
    assert len(load_records(tmp_path)) == 3


def test_written_records_are_sealed_and_an_edit_shows(tiny_model, texts, tmp_path):
    _evaluate(tiny_model, texts, tmp_path, [make_sae()], evaluators=["sparsity"])
    (path,) = tmp_path.glob("*.json")
    record = read_record(path)
    assert record.content_hash and record.content_hash == record.expected_content_hash()
    data = json.loads(path.read_text())
    data["metrics"]["l0"] += 1
    path.write_text(json.dumps(data))
    edited = read_record(path)
    assert edited.content_hash != edited.expected_content_hash()


def test_a_record_from_a_newer_saebench_is_refused(tiny_model, texts, tmp_path):
    _evaluate(tiny_model, texts, tmp_path, [make_sae()], evaluators=["sparsity"])
    (path,) = tmp_path.glob("*.json")
    data = json.loads(path.read_text())
    data["schema_version"] = SCHEMA_VERSION + 96
    path.write_text(json.dumps(data))
    with pytest.raises(SaebenchError, match="newer than this saebench reads.*upgrade"):
        read_record(path)


def test_the_end_of_a_run_names_its_partial_records(tiny_model, texts, tmp_path, scored, capsys):
    from saebench.cli.output import warn_partial

    sae = make_sae()
    sae.fail = True
    with pytest.warns(SaebenchWarning):
        records = _evaluate(tiny_model, texts, tmp_path, [sae], evaluators=["scored_test"])
    warn_partial(records)
    err = capsys.readouterr().err
    assert "warning: 1 record(s) partial" in err and "/scored_test" in err and "rerun" in err
