"""The SmolLM2 tasks without the model: the RAVEL-layout cities, IOI, and the measured-answer
filter (``known_only``) with its counts in ``tasks show``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from saebench.tasks import smollm2_answers as answers
from saebench.tasks import smollm2_cities
from saebench.tasks.base import build_task
from saebench.tasks.ravel import load_ravel


@pytest.fixture()
def measured(monkeypatch):
    """Answers that know exactly the prompts ``known`` lists (set by each test)."""
    state = {"keys": frozenset()}

    def fake(name):
        return answers.Answers("smollm2-135m (test)", "greedy", "fp", state["keys"])

    monkeypatch.setattr(answers, "load", fake)
    return state


def test_city_files_are_ravel_files_with_few_shot_templates():
    data = load_ravel(smollm2_cities.DATA_DIR, "city")
    assert set(data.templates) == set(smollm2_cities.FORMS)
    assert not set(data.labels) & set(smollm2_cities.EXAMPLES)  # examples are never entities
    for items in data.templates.values():
        assert [data.template_split[t] for t in items][-1] == "test"
        assert all(t.count("Toronto") == 1 and t.count("%s") == 1 for t in items)
    assert {data.entity_split[e] for e in data.labels} == {"train", "val", "test"}


def test_city_prompts_name_the_entity_and_ask_one_attribute():
    task = build_task("smollm2-cities", {"known_only": False, "max_entities": 3})
    prompt = task.prompts("test")[0]
    start, end = prompt.spans["entity"]
    assert prompt.text[start:end] == prompt.attributes["city"]
    assert prompt.answer == prompt.attributes[prompt.asks]
    assert task.pairs("Country", split="test")  # RAVEL's builders work on it


def test_known_only_keeps_the_measured_prompts(measured):
    everything = build_task("smollm2-ioi", {"n": 20, "known_only": False})
    chosen = everything.prompts("test")[::3]
    measured["keys"] = frozenset(answers.prompt_key(p) for p in chosen)
    kept = build_task("smollm2-ioi", {"n": 20}).prompts("test")
    assert [p.text for p in kept] == [p.text for p in chosen]
    counts = answers.counts(everything, answers.load("smollm2-ioi"))
    assert counts["io"]["test"] == f"{len(chosen)}/20"


def test_ioi_spans_roles_and_held_out_pairs():
    task = build_task("smollm2-ioi", {"n": 50, "known_only": False})
    for p in task.prompts("test"):
        text = {name: p.text[a:b] for name, (a, b) in p.spans.items()}
        assert text["io"] == p.answer == p.attributes["io"]
        assert text["s1"] == text["s2"] == p.attributes["s"]
        assert text["end"] == "to" and p.text.endswith(" to")
        first = min(p.spans["io"][0], p.spans["s1"][0])
        assert (p.spans["io"][0] == first) == (p.attributes["order"] == "ABBA")
    train_pairs = {
        frozenset((p.attributes["io"], p.attributes["s"])) for p in task.prompts("train")
    }
    test_pairs = {frozenset((p.attributes["io"], p.attributes["s"])) for p in task.prompts("test")}
    assert not train_pairs & test_pairs


def test_ioi_pair_builders_change_one_thing():
    task = build_task("smollm2-ioi", {"n": 30, "known_only": False})
    for pair in task.pairs("swap_io_s", split="train"):
        assert pair.source.answer == pair.base.attributes["s"]
    for pair in task.pairs("flip_order", split="train"):
        assert pair.source.attributes["order"] != pair.base.attributes["order"]
        assert pair.source.answer == pair.base.answer
    for pair in task.pairs("change_s", split="test"):
        assert pair.source.answer == pair.base.answer and pair.source.split == "test"


def test_tasks_show_prints_known_counts_and_says_too_few(measured):
    from saebench.cli.tasks_cmd import app

    result = CliRunner().invoke(app, ["show", "smollm2-ioi", "--set", "n=10", "-n", "1"])
    assert result.exit_code == 0, result.output
    assert "known test" in result.output and "0/10" in result.output
    assert "too few to measure" in result.output
    data = json.loads(CliRunner().invoke(app, ["show", "smollm2-cities", "--json"]).output)
    assert data["data"]["too_few"].startswith("Country, Continent, Language, Currency")
    assert data["data"]["attributes"]["Country"]["known test"].startswith("0/")
