"""The built-in tasks: registered by entry point, typed, spans right, pairs change one thing."""

import pytest

from saebench.errors import SaebenchError
from saebench.registry import tasks
from saebench.tasks import build_task
from saebench.tasks.zoo_ioi import change_io, change_s, flip_order, ioi_prompts, swap_io_s


@pytest.fixture(scope="module")
def cities():
    return build_task("zoo-cities", {"per_kind": 1})


@pytest.fixture(scope="module")
def ioi():
    return build_task("zoo-ioi", {"n": 60})


def test_the_zoo_tasks_are_found_by_entry_point():
    assert {"zoo-cities", "zoo-ioi"} <= set(tasks.names())
    for name in ("zoo-cities", "zoo-ioi"):
        cls = tasks.get(name)
        assert cls.name == name and cls.version
        assert tasks.source(name) == "saebench"


def test_city_prompts_name_the_city_and_ask_one_attribute(cities):
    prompts = cities.prompts("test")
    assert {p.asks for p in prompts} == {"country", "continent", "language"}
    assert {p.tags["phrasing"] for p in prompts} == {"seen", "unseen_for_city", "unseen_anywhere"}
    for p in prompts[:300]:
        start, end = p.spans["entity"]
        assert p.text[start:end] == p.attributes["city"]
        assert p.answer == p.attributes[p.asks] and p.split == "test"
    values = cities.attribute_values()
    assert "Japan" in values["country"] and len(values["continent"]) == 6


def test_city_pairs_change_the_asked_attribute_under_the_same_phrasing(cities):
    bases = [p for p in cities.prompts("test") if p.asks == "language"][:40]
    pairs = cities.pairs("country", prompts=bases, seed=1)
    assert len(pairs) == len(bases)
    for pair in pairs:
        base, source = pair.base, pair.source
        assert source.attributes["country"] != base.attributes["country"]
        assert source.split == base.split and source.asks == base.asks
        assert (source.tags["carrier"], source.tags["frame"]) == (
            base.tags["carrier"],
            base.tags["frame"],
        )
        start, end = source.spans["entity"]
        assert source.text[start:end] == source.attributes["city"]
        assert source.text.replace(source.attributes["city"], "X") == base.text.replace(
            base.attributes["city"], "X"
        )
    # a city of another country on the same continent exists for most bases: it is preferred
    same_continent = sum(
        p.source.attributes["continent"] == p.base.attributes["continent"] for p in pairs
    )
    assert same_continent >= 0.9 * len(pairs)
    assert cities.pairs("country", prompts=bases, seed=1) == pairs  # reproducible


def test_ioi_spans_and_attributes(ioi):
    for p in ioi.prompts("test"):
        text, spans, attrs = p.text, p.spans, p.attributes
        assert text[slice(*spans["io"])] == attrs["io"] == p.answer
        assert text[slice(*spans["s1"])] == text[slice(*spans["s2"])] == attrs["s"]
        assert text[slice(*spans["end"])] == "to"
        assert (spans["io"] < spans["s1"]) == (attrs["order"] == "ABBA")
        assert spans["s2"] > max(spans["io"], spans["s1"])


def test_ioi_builders_change_one_thing():
    p = ioi_prompts("test", 1, seed=3)[0]
    swapped = swap_io_s(p)
    assert (swapped.io, swapped.s, swapped.order) == (p.s, p.io, p.order)
    flipped = flip_order(p)
    assert (flipped.io, flipped.s) == (p.io, p.s) and flipped.order != p.order
    assert flipped.text != p.text and flipped.text.endswith(p.text[p.spans["s2"][0] :])
    other = "Zachary" if "Zachary" not in (p.io, p.s) else "Emma"
    assert change_io(p, other).io == other and change_io(p, other).s == p.s
    assert change_s(p, other).s == other and change_s(p, other).io == p.io
    with pytest.raises(ValueError, match="differ"):
        change_io(p, p.s)


def test_ioi_pairs_keep_the_heldout_pair_split(ioi):
    from saebench.tasks.zoo_ioi import ioi_pair_split

    for builder in ("swap_io_s", "flip_order", "change_io", "change_s"):
        pairs = ioi.pairs(builder, split="test")
        assert len(pairs) == len(ioi.prompts("test"))
        for pair in pairs:
            a = pair.source.attributes
            assert ioi_pair_split(a["io"], a["s"]) == "test", builder


def test_spec_fingerprint_is_stable_and_follows_the_data(ioi):
    spec = ioi.spec()
    assert spec.name == "zoo-ioi" and spec.config["n"] == 60
    assert build_task("zoo-ioi", {"n": 60}).spec() == spec
    assert build_task("zoo-ioi", {"n": 61}).spec().fingerprint != spec.fingerprint
    assert ioi.counts()["test"] == {"prompts": 60, "asks=io": 60}


def test_bad_configs_and_names_speak_to_the_user():
    with pytest.raises(SaebenchError, match="relations"):
        build_task("zoo-cities", {"relations": ["capital"]})
    with pytest.raises(SaebenchError, match="fields"):
        build_task("zoo-ioi", {"size": 3})
    with pytest.raises(SaebenchError, match="did you mean"):
        build_task("zoo-citie")
    with pytest.raises(SaebenchError, match="no split"):
        build_task("zoo-ioi").prompts("dev")
    with pytest.raises(SaebenchError, match="no pair builder"):
        build_task("zoo-ioi").pairs("swap")
