"""Filtering a task by what the zoo model answers."""

import pytest

from saebench.models.interventions import ModelRunner
from saebench.tasks import build_task, filter_by_model


@pytest.fixture(scope="module")
def cities():
    return build_task("zoo-cities", {"per_kind": 1, "phrasings": ["unseen_for_city"]})


def test_greedy_survivors_are_counted_per_attribute_and_split(cities, zoo_model):
    prompts = cities.prompts("test")[::7]
    survivors = filter_by_model(cities, zoo_model, prompts=prompts, batch_size=64)
    rows = survivors.rows()
    assert {r["attribute"] for r in rows} == {"country", "continent", "language"}
    assert sum(r["prompts"] for r in rows) == len(prompts)
    assert sum(r["kept"] for r in rows) == len(survivors.kept)
    assert all(r["fraction"] > 0.8 for r in rows)  # the shipped model passes its gates
    runner = ModelRunner(zoo_model)
    from saebench.models.prompts import make_batch

    batch = make_batch(zoo_model, survivors.kept[:32])
    assert batch.matches(runner.answer(batch)[0]).all()


def test_ranking_among_values_keeps_every_greedy_survivor(cities, zoo_model):
    prompts = cities.prompts("test")[::11]
    greedy = filter_by_model(cities, zoo_model, prompts=prompts)
    ranked = filter_by_model(cities, zoo_model, method="rank", prompts=prompts)
    assert set(map(id, greedy.kept)) <= set(map(id, ranked.kept))
    ioi = build_task("zoo-ioi", {"n": 40})
    survivors = filter_by_model(ioi, zoo_model, method="rank", split="test")
    assert survivors.counts[("io", "test")][0] == 40
    assert survivors.counts[("io", "test")][1] >= 36
