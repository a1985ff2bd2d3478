"""The CLI end to end: real files on disk, the console entry point, exit codes."""

import json
import subprocess
import sys

import pytest
import torch
from helpers import make_sae, run_cli

from saebench.adapters.saelens import save_saelens


def eval_args(files, sae, out, *extra):
    return [
        "eval",
        str(sae),
        "--model",
        str(files / "model"),
        "--dataset",
        str(files / "texts.txt"),
        "--tokens",
        "1024",
        "--context-size",
        "32",
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def test_eval_prints_a_table_and_writes_records(files, tmp_path, capsys):
    code, out, err = run_cli(eval_args(files, files / "sae", tmp_path), capsys)
    assert code == 0, err
    assert "reconstruction.ce_loss_score" in out and "sparsity.l0" in out
    records = list(tmp_path.glob("*.json"))
    assert len(records) == 2
    data = json.loads(records[0].read_text())
    assert data["sae"]["architecture"] == "topk"


def test_json_output_and_leaderboard_show(files, tmp_path, capsys):
    code, out, _ = run_cli(
        eval_args(files, files / "sae", tmp_path, "--json", "--evals", "sparsity"), capsys
    )
    assert code == 0
    assert json.loads(out)[0]["metrics"]["l0"] == pytest.approx(8.0)
    code, out, _ = run_cli(["leaderboard", "show", str(tmp_path), "--format", "csv"], capsys)
    assert code == 0 and out.splitlines()[0].startswith("sae,architecture")


def _cfg_edit(files, tmp_path, change):
    folder = tmp_path / "bad"
    save_saelens(make_sae("topk", k=8), folder)
    cfg = json.loads((folder / "cfg.json").read_text())
    change(folder, cfg)
    return folder


def _set(key, value):
    def change(folder, cfg):
        cfg[key] = value
        (folder / "cfg.json").write_text(json.dumps(cfg))

    return change


def _nan(folder, cfg):
    from safetensors.torch import load_file, save_file

    t = load_file(folder / "sae_weights.safetensors")
    t["W_dec"][0, 0] = float("nan")
    save_file(t, folder / "sae_weights.safetensors")


def _truncate(folder, cfg):
    data = (folder / "sae_weights.safetensors").read_bytes()
    (folder / "sae_weights.safetensors").write_bytes(data[: len(data) // 2])


def _not_json(folder, cfg):
    (folder / "cfg.json").write_text("{not json")


def _drop_tensor(folder, cfg):
    from safetensors.torch import load_file, save_file

    t = load_file(folder / "sae_weights.safetensors")
    del t["b_enc"]
    save_file(t, folder / "sae_weights.safetensors")


BAD = {
    "not json": (_not_json, "not valid JSON"),
    "missing key": (lambda f, c: (c.pop("d_sae"), _set("x", 1)(f, c)), "missing key(s) d_sae"),
    "unknown architecture": (_set("architecture", "wavelet"), "unknown architecture 'wavelet'"),
    "missing tensor": (_drop_tensor, "missing tensor(s) b_enc"),
    "shape mismatch": (_set("d_sae", 65), "has shape"),
    "nan": (_nan, "NaN or Inf"),
    "truncated": (_truncate, "truncated"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_checkpoints_exit_2_with_one_line(files, tmp_path, capsys, case):
    change, message = BAD[case]
    folder = _cfg_edit(files, tmp_path, change)
    out_dir = tmp_path / "out"
    code, _, err = run_cli(eval_args(files, folder, out_dir), capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert not out_dir.exists() or not list(out_dir.iterdir())


def test_wrong_hook_and_width_exit_2(files, tmp_path, capsys):
    for sae, message in [
        (make_sae(hook_name="blocks.9.hook_resid_post"), "not in model"),
        (make_sae(d_in=16), "expects width 16"),
    ]:
        save_saelens(sae, tmp_path / "s")
        code, _, err = run_cli(eval_args(files, tmp_path / "s", tmp_path / "out"), capsys)
        assert code == 2 and message in err and err.count("\n") == 1


def test_missing_path_unknown_format_and_unknown_evaluator(files, tmp_path, capsys):
    code, _, err = run_cli(eval_args(files, tmp_path / "nope", tmp_path / "o"), capsys)
    assert code == 2 and "no such file or directory" in err
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "weights.bin").write_bytes(b"x")
    code, _, err = run_cli(eval_args(files, tmp_path / "odd", tmp_path / "o"), capsys)
    assert code == 2 and "unknown checkpoint format" in err and "weights.bin" in err
    code, _, err = run_cli(
        eval_args(files, files / "sae", tmp_path / "o", "--evals", "sparsty"), capsys
    )
    assert code == 2 and "did you mean 'sparsity'" in err


def test_pickled_code_in_a_pt_file_never_runs(files, tmp_path, capsys):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    folder = tmp_path / "dl"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps(
            {
                "trainer": {
                    "dict_class": "AutoEncoder",
                    "activation_dim": 32,
                    "dict_size": 64,
                    "layer": 0,
                }
            }
        )
    )
    torch.save({"ae": Evil()}, folder / "ae.pt")
    code, _, err = run_cli(eval_args(files, folder, tmp_path / "o"), capsys)
    assert code == 2 and "refused" in err
    assert not marker.exists()


def test_console_script_has_no_traceback_and_debug_shows_one(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "saebench.cli.main",
        "eval",
        str(tmp_path / "missing"),
        "--model",
        "zoo",
        "--dataset",
        "zoo",
    ]
    quiet = subprocess.run(cmd, capture_output=True, text=True)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    loud = subprocess.run([*cmd[:3], "--debug", *cmd[3:]], capture_output=True, text=True)
    assert "Traceback" in loud.stderr


def test_lists(capsys):
    code, out, _ = run_cli(["adapters", "list"], capsys)
    assert code == 0 and "saelens" in out and "sparsify" in out
    code, out, _ = run_cli(["evaluators", "list", "--json"], capsys)
    names = {row["name"] for row in json.loads(out)}
    assert {"reconstruction", "sparsity"} <= names
