import pandas as pd
import pytest
from helpers import make_sae

import saebench
import saebench.errors
from saebench.errors import SaebenchError
from saebench.results.leaderboard import leaderboard, render
from saebench.results.plots import pareto_front, plot_tradeoff


@pytest.fixture(scope="module")
def records(tiny_model, texts):
    saes = [make_sae("topk", k=k, seed=k) for k in (2, 8, 32)]
    return saebench.evaluate(
        saes,
        model=tiny_model,
        dataset=texts,
        n_tokens=256,
        context_size=16,
        device="cpu",
        progress=False,
    )


def test_one_row_per_sae_sorted_by_the_main_metric(records):
    frame = leaderboard(records)
    assert len(frame) == 3
    scores = frame["reconstruction.ce_loss_score"].tolist()
    assert scores == sorted(scores, reverse=True)  # higher is better: best first
    l0 = sorted(frame["sparsity.l0"])
    assert l0[:2] == [2.0, 8.0] and 8.0 < l0[2] <= 32.0  # TopK's ReLU may drop a few of 32


def test_sort_by_a_lower_is_better_metric(records):
    frame = leaderboard(records, sort_by="reconstruction.mse")
    assert frame["reconstruction.mse"].is_monotonic_increasing
    with pytest.raises(SaebenchError, match="cannot sort by"):
        leaderboard(records, sort_by="nope")


def test_render_formats(records):
    frame = leaderboard(records)
    assert render(frame).startswith("| sae")
    assert render(frame, "csv").startswith("sae,architecture")
    assert "<table" in render(frame, "html")


def test_pareto_front_by_hand():
    frame = pd.DataFrame(
        {"l0": [1, 2, 3, 4, 5], "score": [0.1, 0.5, 0.4, 0.9, 0.8], "name": list("abcde")}
    )
    assert pareto_front(frame, "l0", "score")["name"].tolist() == ["a", "b", "d"]


def test_plot_is_written(records, tmp_path):
    frame = leaderboard(records)
    path = plot_tradeoff(frame, "sparsity.l0", "reconstruction.ce_loss_score", tmp_path / "p.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_the_frame_carries_model_hook_dataset_and_tokens(records):
    frame = saebench.records_frame(records)
    row = frame.iloc[0]
    assert row["model"] == "tiny-test" and row["hook"] == "blocks.0.hook_resid_post"
    assert row["dataset"] == "inline" and row["n_tokens"] == 256 and row["context_size"] == 16
    assert "variant" not in frame


def test_records_under_other_settings_are_never_merged(tiny_model, texts):
    """One SAE evaluated at two token counts and two sparsity configs: four rows, each
    labelled with what sets it apart, and a warning; nothing silently wins."""
    sae = make_sae("topk", k=8, seed=1)
    runs = []
    for n_tokens in (256, 512):
        for threshold in (0.1, 0.5):
            runs += saebench.evaluate(
                sae,
                model=tiny_model,
                dataset=texts,
                evaluators=["sparsity"],
                n_tokens=n_tokens,
                context_size=16,
                configs={"sparsity": {"dense_threshold": threshold}},
                progress=False,
            )
    with pytest.warns(saebench.errors.SaebenchWarning, match="several settings"):
        frame = leaderboard(runs)
    assert len(frame) == 4
    labels = set(frame["variant"])
    assert "sparsity: dense_threshold=0.5, n_tokens=512" in labels
    assert len(labels) == 4


def test_copies_of_one_record_count_once(records):
    copies = [r.model_copy(deep=True) for r in records]
    assert len(leaderboard(records + copies)) == 3
