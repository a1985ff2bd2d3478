"""A task declared in Python, as docs/prompts-and-tasks.md shows, works end to end."""

import pytest

from saebench.models.prompts import make_batch
from saebench.registry import tasks
from saebench.tasks import build_task
from saebench.tasks.base import Task, TaskConfig, TaskPrompt
from saebench.toolkit.answers import filter_answered


class CapitalsConfig(TaskConfig):
    countries: list[str] = ["France", "Japan"]


class CapitalsTask(Task):
    name = "capitals-test"
    version = "1"
    Config = CapitalsConfig
    splits = ("test",)
    CAPITALS = {"France": "Paris", "Japan": "Tokyo"}

    def build(self, split):
        out = []
        for country in self.config.countries:
            text = f"The capital of {country} is"
            start = text.index(country)
            out.append(
                TaskPrompt(
                    text=text,
                    spans={"entity": (start, start + len(country))},
                    answer=self.CAPITALS[country],
                    attributes={"country": country, "capital": self.CAPITALS[country]},
                    asks="capital",
                    split=split,
                )
            )
        return out

    def attribute_values(self):
        return {"country": sorted(self.CAPITALS), "capital": sorted(self.CAPITALS.values())}


@pytest.fixture
def registered():
    tasks.register(CapitalsTask.name, CapitalsTask)
    yield
    tasks._entries.pop(CapitalsTask.name, None)


def test_a_python_task_builds_batches_specs_and_filters(registered, zoo_model):
    task = build_task("capitals-test", {"countries": ["Japan"]})
    assert [p.answer for p in task.prompts("test")] == ["Tokyo"]
    assert task.spec().config == {"countries": ["Japan"]}
    batch = make_batch(zoo_model.tokenizer, task.prompts(), prepend_bos=True)
    assert batch.last("entity").tolist() == [4]
    survivors = filter_answered(task, zoo_model, "rank")
    assert survivors.counts == {("capital", "test"): (1, len(survivors.kept))}


def test_doc_spans_point_at_the_words():
    text = "As everyone knows, Kyoto is a city in the country of"
    assert text[19:24] == "Kyoto" and "People in Kyoto speak"[10:15] == "Kyoto"
