"""The SAEs shipped in the zoo: they load offline by name, the CLI lists them, and the
trained ones beat the random dictionary on held-out zoo text.

Skipped when the SAEs (or the zoo model) are not built; rebuild them with
``python -m saebench.zoo.build.zoo_saes``.
"""

from __future__ import annotations

import json

import pytest
import torch

from saebench.zoo.catalog import family_prefixes, sae_names, saes_dir
from saebench.zoo.model import model_dir

if not sae_names() or not (model_dir() / "model.safetensors").is_file():
    pytest.skip(
        "the zoo SAEs or the zoo model are not built; run python -m saebench.zoo.build.zoo_model "
        "and python -m saebench.zoo.build.zoo_saes",
        allow_module_level=True,
    )

from saebench import evaluate, load_sae  # noqa: E402
from saebench.cli.main import main  # noqa: E402
from saebench.zoo.build.zoo_saes import plan  # noqa: E402

PLAN = {spec.name: spec for spec in plan()}
BASELINES = {"resid-neurons", "resid-pca", "resid-random"}
TRAINED_RESID = sorted(n for n in PLAN if n.startswith("resid-") and n not in BASELINES)


@pytest.fixture(scope="module")
def records():
    """Every zoo SAE evaluated in one call, so the model runs once per batch for all."""
    torch.set_num_threads(1)
    found = evaluate(
        [f"zoo:{name}" for name in sorted(PLAN)],
        model="zoo",
        dataset="zoo",
        evaluators=["reconstruction", "sparsity"],
        n_tokens=8192,
        progress=False,
    )
    metrics: dict[str, dict] = {name: {} for name in PLAN}
    for record in found:
        metrics[record.sae.uri.removeprefix("zoo:")].update(record.metrics)
    return metrics


def test_every_planned_sae_is_shipped():
    assert sae_names() == sorted(PLAN)


@pytest.mark.parametrize("name", sorted(PLAN))
def test_loads_offline_by_name(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    sae = load_sae(f"zoo:{name}")
    spec = PLAN[name]
    meta = sae.meta
    assert meta.model_name == "zoo" and meta.hook_name == spec.hook
    assert meta.output_hook == (spec.hook_out or spec.hook)
    assert meta.dtype == "float32" and meta.prepend_bos and meta.context_size == 64
    assert sae.d_in == 128 and sae.d_out == 128
    assert torch.allclose(sae.W_dec.norm(dim=1), torch.ones(sae.d_sae), atol=1e-4)


def test_training_details_survive_the_files():
    assert load_sae("zoo:resid-batchtopk").meta.extra["k"] == 16
    widths = load_sae("zoo:resid-matryoshka").meta.extra["matryoshka_widths"]
    assert widths[-1] == 512 and widths == sorted(widths)


def test_zoo_list_rows_match(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["zoo", "list", "--json"])
    assert exit_info.value.code == 0
    listed = json.loads(capsys.readouterr().out)
    # the toy zoo's SAEs; every other family's (zoo:smollm2-*, zoo:synth4k-*, ...) is listed beside
    others = tuple(f"zoo:{prefix}" for prefix in family_prefixes())
    rows = {row["uri"]: row for row in listed if not row["uri"].startswith(others)}
    assert sorted(rows) == [f"zoo:{name}" for name in sorted(PLAN)]
    assert any(row["uri"].startswith("zoo:smollm2-") for row in listed)
    for name in PLAN:
        sae, row = load_sae(f"zoo:{name}"), rows[f"zoo:{name}"]
        assert row["architecture"] == sae.meta.architecture
        assert row["hook"] == sae.meta.hook_name and row["d_sae"] == sae.d_sae
        assert (row["hook_out"] or None) == sae.meta.hook_name_out


def test_the_zoo_fits_the_size_budget():
    files = [f for d in (saes_dir(), model_dir()) for f in d.rglob("*") if f.is_file()]
    total = sum(f.stat().st_size for f in files)
    assert total < 20 * 1024 * 1024


@pytest.mark.parametrize("name", TRAINED_RESID)
def test_trained_saes_beat_the_random_dictionary(records, name):
    ours, floor = records[name], records["resid-random"]
    assert ours["explained_variance"] > floor["explained_variance"] + 0.1
    assert ours["ce_loss_score"] > floor["ce_loss_score"]


@pytest.mark.parametrize("name", ["mlp-topk-16", "mlp-relu", "transcoder-mlp"])
def test_mlp_saes_reconstruct(records, name):
    # Zero-ablating block 1's MLP lowers the held-out loss a little, so the CE-loss score is
    # ill-conditioned at this hook; the KL score is the downstream measure to check here.
    assert records[name]["explained_variance"] > 0.8
    assert records[name]["kl_div_score"] > 0.8


@pytest.mark.parametrize("name", ["resid-neurons", "resid-pca"])
def test_signed_baselines_are_exact(records, name):
    assert records[name]["explained_variance"] > 0.9999
    assert records[name]["ce_loss_score"] == pytest.approx(1.0, abs=1e-3)


def test_sparsity_matches_the_architecture(records):
    for k in (8, 16, 32):
        assert records[f"resid-topk-{k}"]["l0"] <= k
    for name in ("resid-batchtopk", "resid-matryoshka", "resid-jumprelu"):
        assert 8 < records[name]["l0"] < 32, name


def test_published_metrics_cover_every_sae():
    shipped = json.loads((saes_dir() / "metrics.json").read_text())["saes"]
    assert sorted(shipped) == sorted(PLAN)
    assert all({"fvu", "l0", "ce_loss_score"} <= set(row) for row in shipped.values())
