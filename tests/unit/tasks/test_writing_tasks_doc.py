"""docs/writing-tasks.md runs as written: its Python blocks are executed in order in one
namespace; the `supervised` one (a minute of CPU) only in the slow tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "writing-tasks.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_page_has_the_blocks_it_promises():
    blocks = python_blocks()
    assert len(blocks) == 5
    assert sum('"supervised"' in block for block in blocks) == 1


@pytest.fixture
def registry_cleanup():
    from saebench.registry import tasks

    yield
    tasks._entries.pop("lives-in", None)


def test_the_example_declares_registers_checks_and_probes_a_task(registry_cleanup, capsys):
    namespace: dict = {"__name__": "writing_tasks_doc"}
    for block in python_blocks():
        if '"supervised"' not in block:
            exec(compile(block, str(DOC), "exec"), namespace)
    task = namespace["task"]
    assert task.counts()["train"]["prompts"] == 40
    pair = namespace["pair"]
    assert pair.source.attributes["continent"] != pair.base.attributes["continent"]
    assert pair.source.tags["person"] == pair.base.tags["person"]
    record = namespace["records"][0]
    assert record.task.name == "lives-in" and record.details["position"] == "city"
    continent = record.details["attributes"]["continent"]
    assert continent["n_values_probed"] + continent["n_values_skipped"] == 6
    assert continent["n_values_probed"] >= 3
    assert namespace["records"][1].sae.name == "raw_activations"
    assert namespace["records"][1].metrics["sae_accuracy_full"] > 0.6
    printed = capsys.readouterr().out
    assert "lives in" in printed and "->" in printed


@pytest.mark.slow
def test_the_supervised_example_edits_pairs_and_has_a_main_metric(registry_cleanup):
    namespace: dict = {"__name__": "writing_tasks_doc"}
    for block in python_blocks():
        exec(compile(block, str(DOC), "exec"), namespace)
    sae, *references = namespace["records"]
    assert sae.evaluator.name == "supervised" and sae.sae.role == "sae"
    assert sae.metrics["edit_pairs"] >= 100
    interval = sae.main_interval
    assert interval.low <= sae.main_value <= interval.high
    by_name = {r.sae.name: r for r in references}
    assert sorted(by_name) == ["neurons", "pca", "random", "supervised"]
    # the SAE's edits move answers far more often than a random dictionary's
    assert interval.low > by_name["random"].main_interval.high
