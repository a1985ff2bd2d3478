import json
import warnings
from pathlib import Path

import pytest
from board_factory import make_record, recon, sparsity

from saebench.cli.main import main
from saebench.errors import SaebenchWarning
from saebench.interop.saebench_json import export_saebench_json, import_saebench_json
from saebench.records import load_records, write_record
from saebench.results.board.publish import record_problems
from saebench.results.leaderboard import records_frame

FIXTURE = Path(__file__).parents[2] / "fixtures" / "saebench_json"
TOP_LEVEL = {
    "eval_type_id", "eval_config", "eval_id", "datetime_epoch_millis", "eval_result_metrics",
    "eval_result_details", "eval_result_unstructured", "sae_bench_commit_hash", "sae_lens_id",
    "sae_lens_release_id", "sae_lens_version", "sae_cfg_dict",
}  # fmt: skip


def ours():
    """One SAE's core records, with every metric the export maps, by hand."""
    rec = recon("a", 0.97, 0.12)
    rec.metrics.update(
        kl_div_score=0.95, kl_spliced=0.2, kl_zero_ablated=4.0, ce_loss_clean=2.5,
        ce_loss_spliced=2.6, ce_loss_zero_ablated=9.0, explained_variance_legacy=0.85,
        cossim=0.93, l2_ratio=0.9, relative_reconstruction_bias=0.95,
    )  # fmt: skip
    spa = sparsity("a", 16.0)
    spa.metrics["alive_fraction"] = 0.99
    return [rec, spa]


def test_export_writes_saebench_layout_and_never_our_mse_under_its_name(tmp_path):
    (path,) = export_saebench_json(ours(), tmp_path)
    assert path.relative_to(tmp_path).parts[0] == "core"
    assert path.name.endswith("_eval_results.json")
    data = json.loads(path.read_text())
    assert set(data) == TOP_LEVEL
    metrics = data["eval_result_metrics"]
    assert metrics["model_performance_preservation"]["ce_loss_score"] == 0.97
    assert metrics["model_behavior_preservation"]["kl_div_with_sae"] == 0.2
    assert metrics["sparsity"]["l0"] == 16.0
    quality = metrics["reconstruction_quality"]
    assert "mse" not in quality and "explained_variance" not in quality
    assert "l1" not in metrics["sparsity"]
    assert quality["mse_per_element"] == 0.012 and quality["explained_variance_centred"] == 0.88
    assert metrics["token_stats"]["total_tokens_eval_reconstruction"] == 4096
    assert data["sae_lens_release_id"] == "zoo" and data["sae_lens_id"] == "a"
    assert (
        data["eval_id"]
        == json.loads(export_saebench_json(ours(), tmp_path / "2")[0].read_text())["eval_id"]
    )


def test_round_trip_keeps_our_metrics(tmp_path):
    export_saebench_json(ours(), tmp_path)
    back = {r.evaluator.name: r for r in import_saebench_json(tmp_path)}
    assert set(back) == {"reconstruction", "sparsity"}
    for original in ours():
        imported = back[original.evaluator.name]
        for name, value in original.metrics.items():
            if name == "dead_fraction":  # SAEBench has no such metric: exported unstructured only
                assert name not in imported.metrics
                continue
            assert imported.metrics[name] == value, name
        assert imported.details["saebench_import"]["differs"] == {}
        assert imported.dataset.n_tokens == 4096
        assert imported.key == imported.expected_key()


def test_import_flags_the_metrics_saebench_defines_differently():
    with pytest.warns(SaebenchWarning, match="absorption_first_letter file"):
        records = import_saebench_json(FIXTURE)
    by_name = {r.evaluator.name: r for r in records}
    rec, spa = by_name["reconstruction"], by_name["sparsity"]
    assert rec.metrics["ce_loss_score"] == 0.9768  # same definition: our name
    assert rec.metrics["saebench_mse"] == 0.0913 and "mse" not in rec.metrics
    assert rec.metrics["saebench_explained_variance"] == 0.8516
    assert "explained_variance" not in rec.metrics
    assert spa.metrics["saebench_l1"] == 412.5 and "l1" not in spa.metrics
    flagged = rec.details["saebench_import"]["differs"]
    assert set(flagged) == {"saebench_mse", "saebench_explained_variance"}
    assert "batch" in flagged["saebench_mse"]
    assert rec.sae.uri == "saelens:gpt2-small-res-jb/blocks.8.hook_resid_pre"
    assert rec.dataset.n_tokens == 409600 and rec.dataset.name == "Skylion007/openwebtext"
    assert rec.details["saebench_import"]["file"].startswith("core/")


def test_imported_records_are_refused_by_publish():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaebenchWarning)
        records = import_saebench_json(FIXTURE)
    fields = {field for field, _ in record_problems(records[0])}
    assert records[0].provenance.source == "saebench-json import"
    assert {"provenance.source", "provenance.git_commit", "sae.weights_hash"} <= fields
    assert "dataset.fingerprint" in fields  # SAEBench names its dataset, it does not hash it


def test_ours_and_imported_never_share_a_differing_column():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SaebenchWarning)
        frame = records_frame(ours() + import_saebench_json(FIXTURE))
    theirs = frame[frame["uri"].str.startswith("saelens:")].iloc[0]
    mine = frame[frame["uri"] == "zoo:a"].iloc[0]
    assert mine["reconstruction.mse"] == 0.012 and theirs["reconstruction.saebench_mse"] == 0.0913
    assert frame.loc[frame["uri"] == "zoo:a", "reconstruction.saebench_mse"].isna().all()
    assert frame.loc[frame["uri"] != "zoo:a", "reconstruction.mse"].isna().all()


def test_evaluators_saebench_lacks_are_skipped_with_a_note(tmp_path):
    mdl = make_record("a", "mdl", {"bits": 3.0}, main="bits", higher={"bits": False})
    with pytest.warns(SaebenchWarning, match="1 mdl record"):
        paths = export_saebench_json([*ours(), mdl], tmp_path)
    assert len(paths) == 1


def test_the_cli_commands(tmp_path, capsys):
    results = tmp_path / "results"
    for record in ours():
        write_record(results, record)
    with pytest.raises(SystemExit) as done:
        main(["export", "saebench-json", str(results), "--out", str(tmp_path / "sb")])
    assert done.value.code == 0
    with pytest.raises(SystemExit) as done:
        main(["import", "saebench-json", str(FIXTURE), "--out", str(tmp_path / "imported")])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "wrote 1 SAEBench result file(s)" in out
    assert "imported 2 record(s)" in out and "3 metric(s) flagged" in out
    assert len(load_records(tmp_path / "imported")) == 2


def test_sparse_probing_exports_the_raw_probe_reference_as_saebench_llm_metrics(tmp_path):
    from board_factory import reference

    metrics = {"sae_accuracy_k1": 0.7, "sae_accuracy_full": 0.9}
    hook = "blocks.1.hook_resid_post"
    sae = make_record("a", "sparse_probing", metrics, main="sae_accuracy_k1", higher={},
                      hook=hook, task=True)  # fmt: skip
    raw = reference("sparse_probing", "raw_activations", 0.8, main="sae_accuracy_k1", higher={},
                    hook=hook, task=True)  # fmt: skip
    raw.metrics["sae_accuracy_full"] = 0.95
    (path,) = export_saebench_json([sae, raw], tmp_path)  # one file: the reference is no SAE
    exported = json.loads(path.read_text())["eval_result_metrics"]
    assert exported["sae"]["sae_top_1_test_accuracy"] == 0.7
    assert exported["llm"] == {"llm_top_1_test_accuracy": 0.8, "llm_test_accuracy": 0.95}
