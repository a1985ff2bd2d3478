"""absorption end to end on the zoo through saebench.evaluate: the zoo model does not know
first letters (the gate skips it, with the probe's numbers in the record), a transcoder is
skipped, and with the gate opened the whole per-SAE path runs and reports its intervals and
the random-dictionary null."""

from __future__ import annotations

import pytest

import saebench
from saebench.evaluators.absorption import QUICKSTART_CONFIG


def run(saes, **config):
    return saebench.evaluate(
        saes,
        model="zoo",
        evaluators=["absorption"],
        configs={"absorption": {**QUICKSTART_CONFIG, **config}},
        progress=False,
    )


@pytest.fixture(scope="module")
def gated():
    return run(["zoo:resid-topk-16", "zoo:transcoder-mlp"])


def test_the_zoo_model_does_not_know_first_letters(gated):
    record = gated[0]
    m = record.metrics
    assert record.details["status"].startswith("skipped: the model does not know first letters")
    assert m["mean_absorption_fraction"] is None and m["mean_full_absorption"] is None
    # the probe's numbers are there, read against the majority letter's rate
    assert (
        0 <= m["probe_accuracy"] < 0.3
        and m["probe_accuracy"] <= record.nulls["probe_accuracy"] + 0.1
    )
    assert record.details["words"] == {"train": 600, "test": 250}


def test_a_transcoder_is_skipped(gated):
    record = gated[1]
    assert record.details["status"].startswith("skipped: a transcoder")
    assert all(v is None for v in record.metrics.values())


def test_with_the_gate_open_every_number_is_reported():
    (record,) = run("zoo:resid-topk-16", min_letters=1, min_probe_f1=0.0, max_k=3)
    m, details = record.metrics, record.details
    assert details["status"] == "complete"
    for name in (
        "mean_absorption_fraction",
        "mean_full_absorption",
        "mean_absorption_fraction_legacy",
    ):
        assert 0.0 <= m[name] <= 1.0
        interval = record.intervals[name]
        assert interval.unit == "tokens" and interval.low <= m[name] <= interval.high
        assert 0.0 <= record.nulls[name] <= 1.0  # the random dictionary's value
    assert 1 <= m["mean_num_split_latents"] <= 3
    assert m["n_letters_measured"] == len(details["letters"]) > 0
    assert details["random_dictionary"]["d_sae"] == 512


def test_prompts_longer_than_the_context_give_a_skipped_record():
    (record,) = run("zoo:resid-topk-16", task_config={"max_words": 100, "n_icl": 10})
    status = record.details["status"]
    assert status.startswith("skipped: the first-letter prompts take up to")
    assert "context of 64" in status and record.metrics["probe_accuracy"] is None
