import pytest

from saebench.errors import SaebenchError
from saebench.registry import Registry, adapters, evaluators


def test_builtins_are_found_through_entry_points():
    assert {"saelens", "sparsify", "dictionary_learning", "zoo"} <= set(adapters.names())
    assert {"reconstruction", "sparsity"} <= set(evaluators.names())
    assert evaluators.get("sparsity").name == "sparsity"


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
