"""sae_probes end to end on the zoo: the zoo's vocabulary reads no sae-probes text, so a small
binary task is made from its city prompts (is the city in Europe?), which it does read; the
quickstart preset and unreadable text give clean skipped records."""

from __future__ import annotations

from dataclasses import replace

import pytest

import saebench
from saebench.evaluators.sae_probes.config import QUICKSTART_CONFIG
from saebench.tasks import Task, TaskConfig, build_task, register_task


@pytest.fixture(scope="module")
def europe_task():
    from saebench.registry import tasks

    @register_task("zoo-europe-probe")
    class ZooEurope(Task):
        """zoo-cities' country prompts, labelled by whether the city is in Europe."""

        version = "1"
        Config = TaskConfig
        splits = ("train", "test")

        def build(self, split):
            cities = build_task("zoo-cities", {"relations": ["country"], "per_kind": 1})
            out = []
            for p in cities.prompts(split):
                label = "yes" if p.attributes["continent"] == "Europe" else "no"
                out.append(replace(p, attributes={"europe": label}, asks="europe", answer=label))
            return out

        def attribute_values(self):
            return {"europe": ["no", "yes"]}

    yield "zoo-europe-probe"
    tasks._entries.pop("zoo-europe-probe", None)


def test_end_to_end_on_a_zoo_sae_with_references(europe_task):
    config = {
        "task": europe_task,
        "k": [1, 4],
        "main_k": 4,
        "regimes": ["noise"],
        "noise": [0.2],
        "baselines": ["logreg"],
    }
    records = saebench.evaluate(
        "zoo:resid-topk-16", model="zoo", evaluators=["sae_probes"], configs={"sae_probes": config}
    )
    by_role = {(r.sae.role, r.sae.name): r for r in records}
    sae = next(r for (role, _), r in by_role.items() if role == "sae")
    names = {name for role, name in by_role if role == "reference"}
    assert names == {"raw_activations", "logreg"}
    auc, interval = sae.metrics["test_auc"], sae.intervals["test_auc"]
    assert sae.metrics["test_auc"] == sae.metrics["test_auc_k4"]
    assert interval.low <= auc <= interval.high and interval.unit == "test_rows"
    assert sae.metrics["noise_auc"] is not None and sae.metrics["scarcity_auc"] is None
    assert sae.nulls["test_auc"] == 0.5 and sae.metrics["n_datasets"] == 1
    logreg = next(r for (role, name), r in by_role.items() if name == "logreg")
    # the zoo knows its cities' continents: a dense probe at the prompt's last token finds it
    assert logreg.metrics["test_auc"] > 0.7
    assert logreg.metrics.get("test_auc_k1") is None  # a dense baseline has no k


def test_the_quickstart_preset_and_unreadable_text_are_skipped_cleanly():
    records = saebench.evaluate(
        "zoo:transcoder-mlp",
        model="zoo",
        evaluators=["sae_probes"],
        configs={"sae_probes": QUICKSTART_CONFIG},
    )
    assert records[0].metrics["test_auc"] is None
    assert records[0].details["status"].startswith("skipped: the zoo model")
    pytest.importorskip("zstandard")
    try:
        build_task("sae-probes", {"datasets": ["click_bait"], "max_per_class": 20})
    except saebench.errors.SaebenchError:
        pytest.skip("the sae-probes wheel is not installed")
    records = saebench.evaluate(
        "zoo:resid-topk-16",
        model="zoo",
        evaluators=["sae_probes"],
        configs={"sae_probes": {"task_config": {"datasets": ["click_bait"], "max_per_class": 20}}},
    )
    assert records[0].metrics["test_auc"] is None
    assert "as unknown" in records[0].details["status"]
