"""decoder_structure through saebench.evaluate on zoo SAEs (an SAE and a transcoder), and
the ZF plot drawn from its record."""

from __future__ import annotations

import json

import pytest

import saebench
from saebench.evaluators.decoder_structure.geometry import offdiagonal_stats
from saebench.results.zf_plot import draw_zf_plot, zf_plots

TINY = {"meta_steps": 10, "meta_batch_size": 32, "meta_seeds": 2, "quantile_bins": 256}


@pytest.fixture(scope="module")
def records(zoo_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds_records")
    return saebench.evaluate(
        ["zoo:resid-topk-16", "zoo:transcoder-mlp"],
        model=zoo_model,
        dataset="zoo",
        n_tokens=1024,
        evaluators=["decoder_structure"],
        configs={"decoder_structure": TINY},
        out_dir=out,
        progress=False,
    )


def test_record_of_an_sae(records):
    record = next(r for r in records if r.sae.name == "resid-topk-16")
    m = record.metrics
    sae = saebench.load_sae("zoo:resid-topk-16")
    assert m["max_abs_cos"] == pytest.approx(offdiagonal_stats(sae.W_dec)["max_abs_cos"])
    assert 0.0 < m["meta_fve"] < 1.0 and len(record.seeds["meta_fve"]) == 2
    assert record.intervals["meta_fve"].method == "seeds"
    assert record.nulls["mean_abs_cos"] == pytest.approx(0.0707, abs=1e-3)  # d = 128
    assert m["eps_lbo_median"] > 0 and record.intervals["eps_lbo_median"].low is not None
    assert record.intervals["eps_lbo_mean"].unit == "contexts"
    n = record.sample_sizes["tokens"]
    assert 0 < n <= 1024  # the counted tokens (special tokens are not)
    zf = record.details["zf"]
    assert sum(map(sum, zf["counts"])) == n and len(zf["edges"]) == 41
    json.dumps(record.details)  # the record's details stay JSON


def test_transcoder_gets_its_output_norms(records):
    record = next(r for r in records if r.sae.name == "transcoder-mlp")
    assert record.metrics["eps_lbo_median"] is not None
    assert "transcoder" in record.details["note"]


def test_zf_plot_png(records, tmp_path):
    path = draw_zf_plot(records[0], tmp_path / "zf.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert draw_zf_plot(records[0], tmp_path / "again.png").read_bytes() == path.read_bytes()
    assert len(zf_plots(records, tmp_path / "board")) == 2
    assert (
        draw_zf_plot({"evaluator": {"name": "sparsity"}, "details": {}}, tmp_path / "x.png") is None
    )
