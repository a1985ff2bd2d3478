"""``saebench eval SAE --controls ...`` on the zoo: control records beside the SAE's, read
as controls, with the numbers a control should have."""

from helpers import run_cli

from saebench.records import load_records


def test_eval_writes_control_records_beside_the_sae(tmp_path, capsys):
    argv = [
        "eval",
        "zoo:resid-topk-16",
        "--controls",
        "permuted_decoder,matched_l0_random",
        "--evals",
        "sparsity,reconstruction",
        "--dataset",
        "zoo",
        "--tokens",
        "1024",
        "--out",
        str(tmp_path),
        "--quiet",
    ]
    code, out, err = run_cli(argv, capsys)
    assert code in (0, None), err
    assert "~permuted_decoder" in out and "~matched_l0_random" in out  # rows under the SAE
    records = {(r.sae.name, r.evaluator.name): r for r in load_records(tmp_path)}
    assert len(records) == 6
    sae = records["resid-topk-16", "reconstruction"]
    permuted = records["resid-topk-16~permuted_decoder", "reconstruction"]
    matched = records["resid-topk-16~matched_l0_random", "reconstruction"]
    assert sae.sae.role == "sae" and sae.sae.of is None
    for control in (permuted, matched):
        assert control.sae.role == "control" and control.sae.of == "zoo:resid-topk-16"
        assert control.expected_key() == control.key
    # the same codes written into the wrong directions explain far less than the SAE
    ev = "explained_variance"
    assert permuted.metrics[ev] < 0 < sae.metrics[ev] - 0.5
    assert permuted.intervals[ev].high < sae.intervals[ev].low
    assert matched.metrics[ev] < sae.metrics[ev] - 0.3
    l0 = {name: r.metrics["l0"] for (name, kind), r in records.items() if kind == "sparsity"}
    assert set(l0.values()) == {16.0}
    # a second run finds every record by key and recomputes nothing
    first = {path.name: path.stat().st_mtime_ns for path in tmp_path.glob("*.json")}
    code, _, err = run_cli(argv, capsys)
    assert code in (0, None), err
    assert {path.name: path.stat().st_mtime_ns for path in tmp_path.glob("*.json")} == first
