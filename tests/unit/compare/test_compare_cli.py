"""``saebench compare`` through the normal run: a table of pairs, the mean and the random
baseline printed, one panel record written (and reused on a second call)."""

from __future__ import annotations

from helpers import run_cli

from saebench.records import load_records


def test_compare_prints_and_writes_a_panel_record(tmp_path, capsys):
    argv = [
        "compare", "zoo:resid-topk-16", "zoo:resid-topk-8", "--model", "zoo",
        "--dataset", "zoo", "--tokens", "1024", "--samples", "500",
        "--out", str(tmp_path), "--quiet",
    ]  # fmt: skip
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "zoo:resid-topk-16 vs zoo:resid-topk-8" in out
    assert "mean +- sd" in out and "random init" in out
    assert "500 activation rows" in out
    records = load_records(tmp_path)
    assert len(records) == 1
    record = records[0]
    assert record.sae.role == "panel" and record.evaluator.name == "compare"
    assert len(record.panel) == 2 and record.dataset.n_tokens == 1024
    pair = record.details["pairs"][0]
    assert record.metrics["hungarian_dec_mean_cos"] == pair["hungarian_dec_mean_cos"]
    assert record.nulls["hungarian_dec_mean_cos"] < record.metrics["hungarian_dec_mean_cos"]
    # the same command again reuses the record
    code, again, _ = run_cli(argv, capsys)
    assert code == 0 and len(load_records(tmp_path)) == 1
    assert again.splitlines()[1:4] == out.splitlines()[1:4]


def test_compare_needs_two_different_saes(capsys):
    code, _, err = run_cli(["compare", "zoo:resid-topk-16", "--model", "zoo"], capsys)
    assert code == 2 and "two or more different SAEs" in err
    code, _, err = run_cli(["compare", "zoo:resid-topk-16", "zoo:resid-topk-16"], capsys)
    assert code == 2 and "copy its folder" in err


def test_compare_refuses_saes_of_different_sites(tmp_path, capsys):
    argv = ["compare", "zoo:resid-topk-16", "zoo:mlp-relu", "--model", "zoo", "--samples", "0",
            "--out", str(tmp_path), "--quiet"]  # fmt: skip
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and "no two of these SAEs read the same site" in err
    assert not list(tmp_path.iterdir())
