import json
import subprocess
import sys
from importlib.metadata import EntryPoint, entry_points

import pytest

from saebench.adapters import Adapter
from saebench.errors import SaebenchError
from saebench.evaluators import EvalConfig, EvalMetrics, Evaluator, register_evaluator
from saebench.registry import Registry, adapters, evaluators, tasks
from saebench.run.planning import parse_config

REGISTRIES = {
    "saebench.adapters": adapters,
    "saebench.evaluators": evaluators,
    "saebench.tasks": tasks,
}
KINDS = {"saebench.adapters": Adapter, "saebench.evaluators": Evaluator}  # tasks: any class


def test_builtins_are_found_through_entry_points():
    assert {"saelens", "sparsify", "dictionary_learning", "zoo"} <= set(adapters.names())
    assert {"reconstruction", "sparsity"} <= set(evaluators.names())
    assert evaluators.get("sparsity").name == "sparsity"


@pytest.mark.parametrize("group", REGISTRIES)
def test_every_installed_entry_point_loads_as_its_kind_under_its_name(group):
    points = list(entry_points(group=group))
    assert points, f"no entry point in {group}"
    for point in points:
        obj = REGISTRIES[group].get(point.name)
        if group in KINDS:
            assert isinstance(obj, type) and issubclass(obj, KINDS[group]), point.value
        assert obj.name == point.name, point.value


# Run in a fresh interpreter, so that every built-in module is imported by its entry point:
# any registration made while it is imported is a second name.
_WATCH_REGISTRATIONS = """
import json, sys
from importlib.metadata import entry_points
from saebench import registry

made = []
original = registry.Registry.register
def watch(self, name, obj):
    made.append(f"{self.group}: {name} ({obj.__module__})")
    return original(self, name, obj)
registry.Registry.register = watch
for group, reg in [("saebench.adapters", registry.adapters),
                   ("saebench.evaluators", registry.evaluators), ("saebench.tasks", registry.tasks)]:
    for point in entry_points(group=group):
        if point.value.startswith("saebench."):
            reg.get(point.name)
print(json.dumps(made))
"""


def test_no_builtin_module_also_names_itself_by_registering():
    result = subprocess.run(
        [sys.executable, "-c", _WATCH_REGISTRATIONS], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


class Misnamed(Evaluator):
    name = "other"


class Unnamed(Evaluator):
    pass


def _registry_with(monkeypatch, *points: EntryPoint) -> Registry:
    monkeypatch.setattr("saebench.registry.entry_points", lambda group: list(points))
    return Registry("evaluator", "saebench.test")


def test_an_entry_point_names_its_class(monkeypatch):
    point = EntryPoint("given", f"{__name__}:Unnamed", "saebench.test")
    registry = _registry_with(monkeypatch, point)
    assert registry.get("given") is Unnamed and Unnamed.name == "given"
    registry.refresh()  # loading it again finds the same name
    assert registry.get("given").name == "given"


def test_a_class_that_names_itself_otherwise_is_refused_in_one_line(monkeypatch):
    point = EntryPoint("right", f"{__name__}:Misnamed", "saebench.test")
    registry = _registry_with(monkeypatch, point)
    with pytest.raises(SaebenchError) as caught:
        registry.get("right")
    message = str(caught.value)
    assert "'other'" in message and "'right'" in message and "Misnamed" in message
    assert "\n" not in message
    assert Misnamed.name == "other"  # refused, not renamed


def test_a_subclass_gets_its_own_name_not_its_parents():
    registry = Registry("evaluator", "saebench.none")

    @registry.decorator("parent")
    class Parent(Evaluator):
        pass

    @registry.decorator("child")
    class Child(Parent):
        pass

    assert (Parent.name, Child.name) == ("parent", "child")


def test_the_runtime_decorator_names_and_refuses_like_an_entry_point():
    registry = Registry("evaluator", "saebench.none")

    @registry.decorator("mine")
    class Mine(Evaluator):
        pass

    assert Mine.name == "mine" and registry.get("mine") is Mine
    with pytest.raises(SaebenchError, match="calls itself 'declared' but it is registered as"):

        @registry.decorator("elsewhere")
        class Declared(Evaluator):
            name = "declared"


def test_readers_of_the_name_see_it_from_an_entry_point_and_from_the_decorator():
    class LevelConfig(EvalConfig):
        level: int = 1

    @register_evaluator("runtime_named")
    class RuntimeNamed(Evaluator):
        Config = LevelConfig
        Metrics = EvalMetrics

    try:
        for name, cls in [
            ("sparsity", evaluators.get("sparsity")),
            ("runtime_named", RuntimeNamed),
        ]:
            field = "level" if cls is RuntimeNamed else "dense_threshold"
            with pytest.raises(SaebenchError, match=f"evaluator '{name}', setting '{field}'"):
                parse_config(cls, {field: "not a number"})
    finally:
        evaluators._entries.pop("runtime_named", None)


def test_unknown_name_suggests_close_ones():
    with pytest.raises(SaebenchError, match="did you mean 'reconstruction'"):
        evaluators.get("reconstrution")


def test_duplicates_raise():
    registry = Registry("thing", "saebench.none")

    @registry.decorator("a")
    class A:
        pass

    with pytest.raises(SaebenchError, match="two things are registered as 'a'"):

        @registry.decorator("a")
        class B:
            pass


def test_registering_the_same_object_twice_is_fine():
    registry = Registry("thing", "saebench.none")

    class A:
        pass

    registry.register("a", A)
    registry.register("a", A)
    assert registry.get("a") is A


def test_a_plain_class_registered_as_an_evaluator_is_refused_at_once():
    class NotAnEvaluator:
        pass

    with pytest.raises(SaebenchError, match="not a subclass of Evaluator; derive it"):
        register_evaluator("plain_thing")(NotAnEvaluator)
    assert "plain_thing" not in evaluators


def test_register_task_registers_a_task_and_refuses_other_kinds():
    from saebench.registry import tasks
    from saebench.tasks import Task, register_task

    @register_task("runtime-task")
    class RuntimeTask(Task):
        version = "1"

    try:
        assert tasks.get("runtime-task") is RuntimeTask and RuntimeTask.name == "runtime-task"
        with pytest.raises(SaebenchError, match="not a subclass of Task"):
            register_task("not-a-task")(dict)
    finally:
        tasks._entries.pop("runtime-task", None)
