"""``saebench run``: mistakes in a suite found before anything loads, each one line naming the
suite's file:line (issue 18, item 10), ``--cache-dir``, and an unreachable Ray address
refused in seconds (item 11)."""

import socket
import textwrap
import time

import pytest
from helpers import run_cli

import saebench.models.load
import saebench.run.planning

SUITE = """\
name: tiny
saes:
  - zoo:resid-relu
model: zoo
dataset: zoo
tokens: 512
evaluators: [sparsity]
executor: {device: cpu}
"""


def write(tmp_path, text, name="suite.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def nothing_loads(monkeypatch):
    """Fails the test if an SAE or a model is loaded."""

    def refuse(*a, **k):
        raise AssertionError("something was loaded before the suite was refused")

    monkeypatch.setattr(saebench.models.load, "load_model", refuse)
    monkeypatch.setattr("saebench.adapters.resolve.load_sae", refuse)
    monkeypatch.setattr(saebench.run.planning, "_load_saes", refuse)


def refused(tmp_path, text, capsys, *extra):
    path = write(tmp_path, text)
    code, _, err = run_cli(["run", str(path), "--out", str(tmp_path / "out"), *extra], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return path, lines[0]


# -- item 10: suites ------------------------------------------------------------------------
def test_a_key_given_twice_is_refused_with_its_line(tmp_path, capsys, nothing_loads):
    path, line = refused(tmp_path, SUITE.replace("tokens: 512", "tokens: 512\ntokens: 99"), capsys)
    assert f"{path}:7:" in line and "'tokens'" in line and "line 6" in line


def test_a_nested_key_given_twice_is_refused(tmp_path, capsys, nothing_loads):
    text = SUITE.replace("executor: {device: cpu}", "executor:\n  device: cpu\n  device: cuda")
    path, line = refused(tmp_path, text, capsys)
    assert f"{path}:10:" in line and "'executor.device'" in line


def test_an_evaluator_listed_twice_is_refused(tmp_path, capsys, nothing_loads):
    text = SUITE.replace(
        "evaluators: [sparsity]",
        "evaluators:\n"
        "  - {name: mdl, config: {fvu_tolerance: 0.1}}\n"
        "  - sparsity\n"
        "  - {name: mdl, config: {fvu_tolerance: 0.2}}",
    )
    path, line = refused(tmp_path, text, capsys)
    assert f"{path}:10:" in line and "'mdl'" in line and "line 8" in line


def test_a_name_after_all_gives_that_evaluator_its_settings(tmp_path):
    from saebench.run.suites import load_suite

    text = SUITE.replace(
        "evaluators: [sparsity]",
        "evaluators:\n  - all\n  - {name: mdl, config: {fvu_tolerance: 0.1}}",
    )
    names, configs = load_suite(write(tmp_path, text)).evaluator_configs()
    assert "sparsity" in names and names.count("mdl") == 1
    assert configs["mdl"]["fvu_tolerance"] == 0.1


def test_an_unknown_sae_is_refused_with_its_line_before_loading(tmp_path, capsys, nothing_loads):
    text = SUITE.replace("  - zoo:resid-relu", "  - zoo:resid-relu\n  - zoo:resid-nope")
    path, line = refused(tmp_path, text, capsys)
    assert f"{path}:4:" in line and "zoo:resid-nope" in line


def test_a_missing_sae_folder_is_refused_with_its_line(tmp_path, capsys, nothing_loads):
    text = SUITE.replace("  - zoo:resid-relu", "  - zoo:resid-relu\n  - ./no/such/sae")
    path, line = refused(tmp_path, text, capsys)
    assert f"{path}:4:" in line and "no such file" in line


def test_a_missing_dataset_is_refused_with_its_line_before_loading(tmp_path, capsys, nothing_loads):
    path, line = refused(tmp_path, SUITE.replace("dataset: zoo", "dataset: gone.txt"), capsys)
    assert f"{path}:5:" in line and "gone.txt" in line and "not found" in line


def test_a_budget_beyond_the_dataset_is_refused_with_its_line(tmp_path, capsys, nothing_loads):
    (tmp_path / "small.txt").write_text("the cat sat on the mat\n" * 50)
    text = SUITE.replace("dataset: zoo", "dataset: small.txt")
    path, line = refused(tmp_path, text.replace("tokens: 512", "tokens: 1000000000000"), capsys)
    assert f"{path}:6:" in line and "small.txt" in line


def test_run_keeps_activations_in_cache_dir(tmp_path, capsys):
    path = write(tmp_path, SUITE)
    cache = tmp_path / "cache"
    argv = ["run", str(path), "--out", str(tmp_path / "out"), "--cache-dir", str(cache), "--quiet"]
    code, _, err = run_cli(argv, capsys)
    assert code == 0, err
    assert any(cache.rglob("*.safetensors")), list(cache.rglob("*"))


def test_run_refuses_a_cache_dir_that_is_a_file(tmp_path, capsys, nothing_loads):
    (tmp_path / "cache").write_text("")
    _, line = refused(tmp_path, SUITE, capsys, "--cache-dir", str(tmp_path / "cache"))
    assert "--cache-dir" in line and "is a file" in line


# -- item 11: an unreachable Ray address ------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once it is closed


@pytest.mark.parametrize("form", ["127.0.0.1:{port}", "ray://127.0.0.1:{port}"])
def test_an_unreachable_ray_address_is_refused_in_seconds(
    form, tmp_path, capsys, nothing_loads, monkeypatch
):
    pytest.importorskip("ray")
    monkeypatch.setattr("ray.init", _no_ray_init)
    address = form.format(port=_closed_port())
    began = time.monotonic()
    _, line = refused(tmp_path, SUITE, capsys, "--executor", "ray", "--address", address)
    assert time.monotonic() - began < 60  # a margin for a loaded machine; it took 300 s
    assert address in line and "--address" in line and "ray start" in line


def test_the_suites_unreachable_address_names_its_line(tmp_path, capsys, nothing_loads):
    pytest.importorskip("ray")
    text = SUITE.replace(
        "executor: {device: cpu}", f"executor:\n  name: ray\n  address: 127.0.0.1:{_closed_port()}"
    )
    path, line = refused(tmp_path, text, capsys)
    assert f"{path}:10:" in line and "ray start" in line


def _no_ray_init(*a, **k):
    raise AssertionError("ray.init was called for an unreachable address")
