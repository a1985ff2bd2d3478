"""``saebench run SUITE`` end to end on a tiny suite (a zoo SAE and a copy of one with a
shorter context, so two groups; few tokens): records, progress lines, resume after SIGTERM
and SIGKILL with the same records and none duplicated, ``--dry-run``, and its errors."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from stalled import stalled_cli, wait_for_marker

from saebench.cli.main import main
from saebench.records import load_records
from saebench.zoo.catalog import saes_dir

SUITE = """\
name: tiny
saes:
  - zoo:resid-relu
  - short
model: zoo
dataset: zoo
tokens: 1024
evaluators: [reconstruction, sparsity]
executor: {device: cpu}
"""


@pytest.fixture
def suite(tmp_path):
    folder = tmp_path / "short"  # relative in the suite: found next to the suite file
    shutil.copytree(saes_dir() / "resid-topk-8", folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    cfg.setdefault("metadata", {})["context_size"] = 32
    cfg["context_size"] = 32
    (folder / "cfg.json").write_text(json.dumps(cfg))
    path = tmp_path / "tiny.yaml"
    path.write_text(SUITE)
    return path


def run(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.fixture
def reference(suite, tmp_path, capsys):
    code, out, err = run(["run", str(suite), "--out", str(tmp_path / "ref")], capsys)
    assert code == 0, err
    return load_records(tmp_path / "ref"), out, err


def test_run_writes_records_prints_the_table_and_progress(reference, suite, tmp_path, capsys):
    records, out, err = reference
    assert sorted((r.sae.name, r.evaluator.name) for r in records) == [
        ("resid-relu", "reconstruction"),
        ("resid-relu", "sparsity"),
        ("short", "reconstruction"),
        ("short", "sparsity"),
    ]
    assert {r.dataset.context_size for r in records if r.sae.name == "short"} == {32}
    assert "#  sae" in out and "resid-relu" in out and "4 record(s) in" in out
    assert "[plan] 2 group(s), 4 record(s) in all" in err
    assert "[group 1/2]" in err and "[group 2/2]" in err and "started, 2 record(s)" in err
    assert err.count("record(s) written") == 2 and "[total] 4 record(s), 4 new" in err
    # a second run computes nothing and says so
    code, out, err = run(["run", str(suite), "--out", str(tmp_path / "ref")], capsys)
    assert code == 0 and err.count("already done") == 2 and "0 new" in err
    assert len(list((tmp_path / "ref").glob("*.json"))) == 4


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_killed_mid_run_and_rerun_gives_the_same_records(
    signum, reference, suite, tmp_path, capsys
):
    ref, _, _ = reference
    out, marker = tmp_path / "killed", tmp_path / "stalled"
    # stopped as the second group starts (the first one's records written), so the signal
    # never races the run, however loaded the machine
    process = stalled_cli(
        ["run", str(suite), "--out", str(out), "--quiet"],
        marker,
        "saebench.run.group:run_group",
        call=2,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    wait_for_marker(marker, process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    partial = load_records(out, strict=True)  # every file left is a whole record
    assert 1 <= len(partial) < 4
    if signum == signal.SIGTERM:
        assert process.returncode == 143 and b"rerun the same command to resume" in stderr
    code, _, err = run(["run", str(suite), "--out", str(out), "--quiet"], capsys)
    assert code == 0, err
    resumed = load_records(out, strict=True)
    assert len(list(out.glob("*.json"))) == 4  # none duplicated
    assert sorted(r.key for r in resumed) == sorted(r.key for r in ref)
    by_key = {r.key: r for r in ref}
    for record in resumed:
        for metric, value in record.metrics.items():
            expected = by_key[record.key].metrics[metric]
            assert value == pytest.approx(expected, rel=2e-5, abs=1e-7), metric


def test_dry_run_plans_the_gpt2_suite_offline(capsys):
    """Its weights are on the hub, which is unreachable here: the dry run loads nothing."""
    suite = Path(__file__).parents[2] / "evals" / "gpt2-small-res-jb.yaml"
    code, out, err = run(["run", str(suite), "--dry-run"], capsys)
    assert code == 0, err
    assert "12 SAE(s), 1 group(s)" in out and "model gpt2-small" in out
    assert "saelens:gpt2-small-res-jb/blocks.11.hook_resid_pre" in out
    assert "records: results/gpt2-small-res-jb/" in out


def test_dry_run_of_the_tiny_suite_shows_two_groups(suite, capsys, tmp_path):
    code, out, _ = run(["run", str(suite), "--dry-run", "--out", str(tmp_path / "x")], capsys)
    assert code == 0 and "2 SAE(s), 2 group(s)" in out
    assert "context_size=64" in out and "context_size=32" in out
    assert not (tmp_path / "x").exists()


def test_a_suite_mistake_is_one_line_naming_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SUITE.replace("tokens: 1024", "tokens: 1024\ntokns: 5"))
    code, _, err = run(["run", str(bad)], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert f"error: {bad}:8: unknown key 'tokns'; did you mean 'tokens'?" in err


def test_ray_executor_without_ray_says_how_to_install_it(suite, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code, _, err = run(["run", str(suite), "--executor", "ray"], capsys)
    assert code == 2 and "pip install 'saebench[ray]'" in err
    assert err.startswith("error: ") and err.strip().count("\n") == 0


def test_an_unknown_executor_is_refused(suite, capsys):
    code, _, err = run(["run", str(suite), "--executor", "slurm"], capsys)
    assert code == 2 and "use local or ray" in err


def test_importing_saebench_does_not_import_ray():
    code = "import saebench, saebench.run.suites, saebench.run.ray_executor, sys; print('ray' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
