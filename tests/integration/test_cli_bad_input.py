"""Every bad input of issue 7, through the CLI: exit 2, one ``error:`` line naming the
problem and the fix, no traceback, nothing written, and no model loaded where the mistake
can be seen before."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import make_sae, run_cli
from stalled import stalled_cli, wait_for_marker

import saebench.models.load
from saebench.adapters.saelens import save_saelens


def args(files, out, *extra, sae=None, dataset=None):
    return [
        "eval",
        str(sae or files / "sae"),
        "--model",
        str(files / "model"),
        "--dataset",
        str(dataset or files / "texts.txt"),
        "--tokens",
        "512",
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def assert_refused(code, err, *fragments):
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture
def no_model(monkeypatch):
    """Fails the test if a model is loaded."""

    def refuse(*a, **k):
        raise AssertionError("a model was loaded before the input was refused")

    monkeypatch.setattr(saebench.models.load, "load_model", refuse)


# -- command-line parsing ------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["eval", "zoo:resid-relu", "--tokens", "abc"], "Invalid value for '--tokens'"),
        (["eval", "zoo:resid-relu", "--tokenz", "5"], "No such option"),
        (["eval"], "Missing argument"),
        (["evall"], "No such command"),
        (["leaderboard", "show"], "Missing argument"),
    ],
)
def test_parse_errors_are_one_line(argv, fragment, capsys, no_model):
    code, _, err = run_cli(argv, capsys)
    assert_refused(code, err, fragment, "--help")


def test_interrupt_keeps_records_and_says_how_to_resume(files, tmp_path, capsys, monkeypatch):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("saebench.run.group.run_group", interrupted)
    code, _, err = run_cli(args(files, tmp_path / "out"), capsys)
    assert code == 130 and "rerun the same command to resume" in err


# -- flags checked before any model work ---------------------------------------------------
FLAGS = {
    "cuda without a GPU": (["--device", "cuda"], "no CUDA GPU"),
    "not a device": (["--device", "gpu0"], "'gpu0' is not a device"),
    "negative batch": (["--batch-size", "-4"], "--batch-size must be a positive"),
    "zero batch": (["--batch-size", "0"], "--batch-size must be a positive"),
    "zero context": (["--context-size", "0"], "--context-size must be a positive"),
    "context of one": (["--context-size", "1"], "--context-size must be at least 2"),
    "negative context": (["--context-size", "-3"], "--context-size must be a positive"),
    "zero tokens": (["--tokens", "0"], "--tokens must be a positive"),
    "negative tokens": (["--tokens", "-5"], "--tokens must be a positive"),
    "tokens beyond the data": (["--tokens", "1000000000000"], "--tokens 1000000000000"),
    "no evaluators": (["--evals", ""], "no evaluators given to --evals"),
    "bins zero": (["--set", "sparsity.histogram_bins_per_decade=0"], "histogram_bins_per_decade"),
    "bins huge": (["--set", "sparsity.histogram_bins_per_decade=1000000000"], "less than or equal"),
}


@pytest.mark.parametrize("case", sorted(FLAGS))
def test_bad_flags_are_refused_before_the_model_loads(case, files, tmp_path, capsys, no_model):
    extra, fragment = FLAGS[case]
    code, _, err = run_cli(args(files, tmp_path / "out", *extra), capsys)
    assert_refused(code, err, fragment)
    assert not (tmp_path / "out").exists()


def test_the_default_budget_works_on_the_zoo_with_a_note(tmp_path, capsys):
    """The zoo dataset holds fewer tokens than the default budget: capped, not refused."""
    argv = ["eval", "zoo:resid-topk-16", "--model", "zoo", "--dataset", "zoo", "--quiet"]
    code, _, err = run_cli([*argv, "--evals", "sparsity", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    [note] = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert "default" in note and "--tokens" in note


def test_an_out_folder_that_is_a_file(files, tmp_path, capsys, no_model):
    (tmp_path / "out").write_text("")
    code, _, err = run_cli(args(files, tmp_path / "out"), capsys)
    assert_refused(code, err, "--out", "is a file")
    code, _, err = run_cli(args(files, tmp_path / "out" / "deeper"), capsys)
    assert_refused(code, err, "--out", "cannot be made")


def test_a_cache_dir_that_is_a_file(files, tmp_path, capsys, no_model):
    (tmp_path / "cache").write_text("")
    code, _, err = run_cli(
        args(files, tmp_path / "out", "--cache-dir", str(tmp_path / "cache")), capsys
    )
    assert_refused(code, err, "--cache-dir", "is a file")
    assert not (tmp_path / "out").exists()


# -- data files ------------------------------------------------------------------------------
DATA = {
    "latin-1 txt": ("d.txt", "café au lait\n".encode("latin-1"), "not UTF-8"),
    "binary txt": ("d.txt", bytes(range(128, 256)), "not UTF-8"),
    "latin-1 jsonl": ("d.jsonl", '{"text": "café"}\n'.encode("latin-1"), "not UTF-8"),
    "number text": ("d.jsonl", b'{"text": 5}\n', "d.jsonl:1"),
    "null text": ("d.jsonl", b'{"text": null}\n', "d.jsonl:1"),
    "list text": ("d.jsonl", b'{"text": ["a"]}\n', "d.jsonl:1"),
}


@pytest.mark.parametrize("case", sorted(DATA))
def test_bad_data_files_are_refused(case, files, tmp_path, capsys, no_model):
    name, content, fragment = DATA[case]
    (tmp_path / name).write_bytes(content)
    code, _, err = run_cli(args(files, tmp_path / "out", dataset=tmp_path / name), capsys)
    assert_refused(code, err, fragment)
    assert not (tmp_path / "out").exists()


# -- checkpoints and plug-ins ---------------------------------------------------------------
def _edited_sae(tmp_path, change):
    folder = tmp_path / "bad"
    save_saelens(make_sae("topk", k=8), folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    change(cfg)
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


def test_topk_with_k_above_d_sae(files, tmp_path, capsys):
    folder = _edited_sae(tmp_path, lambda cfg: cfg.update(k=1000))
    code, _, err = run_cli(args(files, tmp_path / "out", sae=folder), capsys)
    assert_refused(code, err, "k=1000 exceeds d_sae=64")


def test_a_config_value_of_the_wrong_type_names_its_field(files, tmp_path, capsys):
    folder = _edited_sae(tmp_path, lambda cfg: cfg.update(d_in="wide"))
    code, _, err = run_cli(args(files, tmp_path / "out", sae=folder), capsys)
    assert_refused(code, err, "d_in", "integer")


def test_a_python_factory_that_exits(files, tmp_path, capsys, monkeypatch):
    (tmp_path / "exits_factory.py").write_text("import sys\ndef build():\n    sys.exit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, _, err = run_cli(args(files, tmp_path / "out", sae="python:exits_factory:build"), capsys)
    assert_refused(code, err, "sys.exit(0)")


# -- results folders -------------------------------------------------------------------------
def test_a_corrupt_record_does_not_block_a_rerun(files, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(args(files, out, "--evals", "sparsity"), capsys)
    assert code == 0, err
    (path,) = out.glob("*.json")
    path.write_text("{ not json")
    code, _, err = run_cli(args(files, out, "--evals", "sparsity"), capsys)
    assert code == 0 and "warning:" in err and path.name in err
    json.loads(path.read_text())  # rewritten whole


def test_a_foreign_json_file_does_not_hide_the_leaderboard(files, tmp_path, capsys):
    out = tmp_path / "out"
    run_cli(args(files, out, "--evals", "sparsity"), capsys)
    (out / "notes.json").write_text('{"mine": true}')
    code, table, err = run_cli(["leaderboard", "show", str(out)], capsys)
    assert code == 0 and "sparsity.l0" in table and "sae" in table


def test_the_same_sae_twice_is_written_once(files, tmp_path, capsys):
    out = tmp_path / "out"
    argv = args(files, out, "--evals", "sparsity")
    argv.insert(2, str(files / "sae" / ".." / "sae"))
    code, _, err = run_cli(argv, capsys)
    assert code == 0 and "given twice" in err
    assert len(list(out.glob("*.json"))) == 1


# -- signals -----------------------------------------------------------------------------
def _stalled_in_second_pass(files, tmp_path):
    """``eval --evals mdl`` in a child, stopped inside its second pass (the first pass's
    activations in a scratch folder under ``tmp_path/tmp``); (child, scratch root, stderr)."""
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    marker, stderr = tmp_path / "stalled", tmp_path / "stderr.txt"
    argv = args(files, tmp_path / "out", "--evals", "mdl")
    child = stalled_cli(
        argv,
        marker,
        "saebench.activations.shared_pass:SharedPass._step",
        arg=1,  # pass_index (after self)
        equals=1,
        env={**os.environ, "TMPDIR": str(scratch_root)},
        stderr=stderr.open("w"),
    )
    wait_for_marker(marker, child)
    return child, scratch_root, stderr


def test_sigterm_removes_the_scratch_folder_and_says_how_to_resume(files, tmp_path):
    """A two-pass evaluator keeps a scratch cache; SIGTERM (timeout, Slurm) must remove it."""
    child, scratch_root, stderr = _stalled_in_second_pass(files, tmp_path)
    assert list(scratch_root.glob("saebench-acts-*")), "the run never made its scratch folder"
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=120)
    err = stderr.read_text()
    assert child.returncode == 143, err
    assert "rerun the same command to resume" in err and "Traceback" not in err
    assert not list(scratch_root.glob("saebench-acts-*"))


def test_sigterm_while_cleaning_up_or_exiting_still_exits_143(files, tmp_path):
    """A second SIGTERM (a job runner that repeats itself) must not kill the process by the
    signal (-15) while it cleans up or exits; it ends with 143 and leaves nothing behind."""
    child, scratch_root, stderr = _stalled_in_second_pass(files, tmp_path)
    child.send_signal(signal.SIGTERM)
    while child.poll() is None:  # keep signalling until it is gone, whatever it is doing
        child.send_signal(signal.SIGTERM)
        time.sleep(0.001)
    err = stderr.read_text()
    assert child.returncode == 143, err
    assert "Traceback" not in err and not list(scratch_root.glob("saebench-acts-*"))


SECOND_SIGTERM_AT_EXIT = """
import atexit, os, signal, sys
import saebench.run.group

def first_sigterm(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)

saebench.run.group.run_group = first_sigterm
# the second comes while the interpreter shuts down, after main() has returned its handler
atexit.register(os.kill, os.getpid(), signal.SIGTERM)
from saebench.cli.main import main

sys.argv = ["saebench", *sys.argv[1:]]
main()
"""


def test_a_second_sigterm_during_shutdown_exits_143(files, tmp_path):
    argv = args(files, tmp_path / "out", "--evals", "sparsity")
    done = subprocess.run(
        [sys.executable, "-c", SECOND_SIGTERM_AT_EXIT, *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 143, done.stderr
    assert "rerun the same command to resume" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_cli_gives_back_the_sigterm_handler_it_found(files, tmp_path, capsys, monkeypatch):
    def terminated(*a, **k):
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr("saebench.run.group.run_group", terminated)
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        code, _, err = run_cli(args(files, tmp_path / "out"), capsys)
        assert code == 143 and "rerun the same command to resume" in err
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before)


def test_console_script_has_no_traceback_for_a_parse_error():
    done = subprocess.run(
        [sys.executable, "-m", "saebench.cli.main", "eval", "x", "--tokens", "abc"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error: ") and done.stderr.count("\n") == 1
