import json
from pathlib import Path

import pytest
from helpers import make_sae

import saebench
from saebench.activations.shared_pass import SharedPass
from saebench.errors import SaebenchError, SaebenchWarning
from saebench.records import load_records


def _evaluate(model, texts, out, saes, **kwargs):
    return saebench.evaluate(
        saes,
        model=model,
        dataset=texts,
        n_tokens=512,
        context_size=16,
        out_dir=out,
        device="cpu",
        progress=False,
        **kwargs,
    )


def test_records_carry_provenance_and_round_trip(tiny_model, texts, tmp_path):
    records = _evaluate(tiny_model, texts, tmp_path, [make_sae()])
    assert {r.evaluator.name for r in records} == {"reconstruction", "sparsity"}
    loaded = load_records(tmp_path)
    assert sorted(r.key for r in loaded) == sorted(r.key for r in records)
    record = loaded[0]
    assert record.provenance.saebench_version == saebench.__version__
    assert "torch" in record.provenance.packages
    assert record.sae.weights_hash and record.evaluator.config_hash
    assert record.dataset.n_tokens == 512 and record.dataset.context_size == 16
    assert record.model.name == "tiny-test" and record.model.weights_hash
    assert record.expected_key() == record.key
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def test_rerun_resumes_without_running_the_model(tiny_model, texts, tmp_path, monkeypatch):
    first = _evaluate(tiny_model, texts, tmp_path, [make_sae()])
    runs = []
    monkeypatch.setattr(SharedPass, "run", lambda self: runs.append(self))
    again = _evaluate(tiny_model, texts, tmp_path, [make_sae()])
    assert runs == []
    assert [r.metrics for r in again] == [r.metrics for r in first]


def test_a_changed_config_or_sae_is_not_reused(tiny_model, texts, tmp_path):
    _evaluate(tiny_model, texts, tmp_path, [make_sae()], evaluators=["sparsity"])
    _evaluate(
        tiny_model,
        texts,
        tmp_path,
        [make_sae()],
        evaluators=["sparsity"],
        configs={"sparsity": {"dense_threshold": 0.5}},
    )
    _evaluate(tiny_model, texts, tmp_path, [make_sae(seed=7)], evaluators=["sparsity"])
    assert len(load_records(tmp_path)) == 3


def test_bad_config_field_is_a_clear_error(tiny_model, texts, tmp_path):
    with pytest.raises(SaebenchError, match="'sparsity', setting 'no_such'"):
        _evaluate(
            tiny_model,
            texts,
            tmp_path,
            [make_sae()],
            evaluators=["sparsity"],
            configs={"sparsity": {"no_such": 1}},
        )
    assert not list(tmp_path.iterdir())


def test_wrong_width_and_missing_hook_are_refused(tiny_model, texts, tmp_path):
    with pytest.raises(SaebenchError, match="expects width 16"):
        _evaluate(tiny_model, texts, tmp_path, [make_sae(d_in=16)])
    with pytest.raises(SaebenchError, match="did you mean blocks.0.hook_resid_post"):
        _evaluate(tiny_model, texts, tmp_path, [make_sae(hook_name="blocks.0.hook_resid_pst")])
    assert not list(tmp_path.iterdir())


def test_a_foreign_json_file_is_skipped_and_hides_no_record(tiny_model, texts, tmp_path):
    records = _evaluate(tiny_model, texts, tmp_path, [make_sae()], evaluators=["sparsity"])
    (tmp_path / "x.json").write_text(json.dumps({"hello": 1}))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "package.json").write_text("[1, 2]")
    assert [r.key for r in load_records(tmp_path)] == [records[0].key]
    with pytest.raises(SaebenchError, match="x.json: not a saebench record"):
        load_records(tmp_path / "x.json")


def test_a_damaged_record_is_recomputed_with_a_warning(tiny_model, texts, tmp_path):
    (first,) = _evaluate(tiny_model, texts, tmp_path, [make_sae()], evaluators=["sparsity"])
    (path,) = tmp_path.glob("*.json")
    path.write_text(path.read_text()[:200])  # truncated by a full disk, say
    with pytest.warns(SaebenchWarning, match=f"{path.name}.*recomputed and replaced"):
        (again,) = _evaluate(tiny_model, texts, tmp_path, [make_sae()], evaluators=["sparsity"])
    assert again.metrics == first.metrics
    assert [r.key for r in load_records(tmp_path)] == [first.key]


def test_leaderboard_reading_skips_a_damaged_record_with_a_warning(tmp_path):
    (tmp_path / "sae__sparsity__0123456789.json").write_text('{"key": "x", "evaluator": {}}')
    with pytest.warns(SaebenchWarning, match="damaged saebench record"):
        assert load_records(tmp_path) == []
    with pytest.raises(SaebenchError, match="damaged"):
        load_records(tmp_path, strict=True)


def test_records_of_schema_1_still_load():
    folder = Path(__file__).parents[1] / "fixtures" / "records" / "schema1"
    records = load_records(folder)
    assert {r.evaluator.name for r in records} == {"reconstruction", "sparsity"}
    assert all(r.schema_version == 1 and r.model.weights_hash is None for r in records)
    assert records[0].model.name == "tiny-test"
