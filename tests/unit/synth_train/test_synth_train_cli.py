"""`saebench synth tiers|train` end to end on synth-1k, and a briefly trained TopK SAE against
a random decoder on the true features."""

import json

import torch
from helpers import run_cli

import saebench
from saebench.synthetic import load_model
from saebench.toolkit.matching import assign, cosines
from saebench.zoo.build import synth_saes as S


def matched_mean(decoder, features):
    sim = cosines(decoder, features).abs()
    rows, cols = assign(sim)
    return float(sim[rows, cols].mean())


def test_a_briefly_trained_topk_beats_random_decoders_on_mcc():
    model = load_model("synth-1k")
    x = S.train_buffer(model, 16_384)
    sae = S.train(x, "synth-1k", "topk", k=6, samples=64 * 1024).sae
    g = torch.Generator().manual_seed(0)
    randoms = [matched_mean(torch.randn(256, 128, generator=g), model.features) for _ in range(3)]
    # about 0.41 after 64 steps against 0.30 for every random draw
    assert matched_mean(sae.W_dec, model.features) > max(randoms) + 0.05


def test_train_writes_an_sae_saebench_loads(tmp_path, capsys):
    out = tmp_path / "sae"
    argv = ["synth", "train", "--tier", "synth-1k", "--arch", "topk", "--k", "5"]
    argv += ["--samples", "4096", "--seed", "1", "--out", str(out), "--quiet"]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "4096 samples, 4 steps" in stdout and "final loss" in stdout
    sae = saebench.load_sae(str(out))
    assert (sae.meta.model_name, sae.meta.hook_name, sae.meta.k) == ("synth-1k", "hook_x", 5)
    assert json.loads((out / "training.json").read_text())["steps"] == 4


def test_bad_tier_or_architecture_is_one_error_line(tmp_path, capsys):
    for flag, value, message in [
        ("--tier", "synth-9k", "error: unknown synthetic tier 'synth-9k'"),
        ("--arch", "lista", "error: unknown architecture 'lista'"),
    ]:
        argv = ["synth", "train", flag, value, "--out", str(tmp_path / "x")]
        code, _, err = run_cli(argv, capsys)
        assert code == 2 and err.strip().startswith(message) and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_tiers_lists_each_tier_with_its_recipe(capsys):
    code, stdout, _ = run_cli(["synth", "tiers", "--json"], capsys)
    rows = {row["tier"]: row for row in json.loads(stdout)}
    assert code == 0
    assert (rows["synth-4k"]["N"], rows["synth-4k"]["D"], rows["synth-4k"]["k"]) == (4096, 256, 12)
    assert rows["synth-1k"]["lr"] == 3e-3


def test_eval_runs_the_ground_truth_evaluators_on_the_tier(tmp_path, capsys):
    x = S.train_buffer(load_model("synth-1k"), 4096)
    S.save(S.train(x, "synth-1k", "topk", samples=4096), tmp_path / "sae")
    argv = ["synth", "eval", str(tmp_path / "sae"), "--tier", "synth-1k", "--tokens", "4096"]
    argv += ["--evals", "sparsity,ground_truth", "--out", str(tmp_path / "out"), "--json"]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    records = {r["evaluator"]["name"]: r for r in json.loads(stdout)}
    assert set(records) == {"sparsity", "ground_truth"}
    assert 0 < records["ground_truth"]["metrics"]["mcc"] < 1
    assert abs(records["sparsity"]["metrics"]["l0"] - 6) < 0.5
