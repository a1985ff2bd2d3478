"""RAVEL instances with the zoo model: the filter, the cause and isolation pairs, the
reweighting of source values, the splits and determinism."""

import json
from collections import Counter
from pathlib import Path

import pytest

from saebench.errors import SaebenchError
from saebench.evaluators.ravel.instances import (
    answered,
    build_instances,
    instance_split,
    make_pairs,
)
from saebench.models.interventions import ModelRunner
from saebench.tasks import build_task
from saebench.tasks.zoo import ZooCitiesTask
from saebench.toolkit.answers import answer_texts, filter_answered, is_correct

FIXTURE = Path(__file__).parents[3] / "fixtures" / "ravel"


def raw(part):
    return json.loads((FIXTURE / f"ravel_city_{part}.json").read_text(encoding="utf-8"))


class FewZooCities(ZooCitiesTask):
    """zoo-cities on every 12th city (the filter of the whole task takes half a minute)."""

    name = "zoo-cities-few"

    def build(self, split):
        prompts = super().build(split)
        keep = set(sorted({p.attributes["city"] for p in prompts})[::12])
        return [p for p in prompts if p.attributes["city"] in keep]


@pytest.fixture(scope="module")
def runner(zoo_model):
    return ModelRunner(zoo_model)


def one_thread(work):
    """``work()`` on one torch thread: module fixtures run outside conftest's ``one_thread``
    (two threads on the shared cores made the filter many times slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return work()
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def ravel():
    return build_task("ravel", {"data_dir": str(FIXTURE)})


@pytest.fixture(scope="module")
def ravel_answers(ravel, runner):
    return one_thread(lambda: answered(ravel, runner))


@pytest.fixture(scope="module")
def zoo():
    return FewZooCities({"per_kind": 1})


@pytest.fixture(scope="module")
def zoo_answers(zoo, runner):
    return one_thread(lambda: answered(zoo, runner))


def template_of(prompt):
    start, end = prompt.spans["entity"]
    return prompt.text[:start] + "%s" + prompt.text[end:]


def entity_of(prompt):
    return prompt.text[slice(*prompt.spans["entity"])]


# -- filtering -------------------------------------------------------------------------------------
def test_survivors_count_every_prompt_of_each_instance_split(ravel_answers):
    labels, entity_split = raw("entity_attributes"), raw("entity_to_split")
    templates, template_split = raw("attribute_to_prompts"), raw("prompt_to_split")
    pairs = {
        ("train", "train"): "train",
        ("val", "train"): "val",
        ("test", "train"): "entity",
        ("train", "test"): "context",
    }
    expected = Counter()
    for entity, row in labels.items():
        for attribute in ("Country", "Continent", "Language"):
            if row.get(attribute) in (None, ""):
                continue
            for t in templates[attribute]:
                if split := pairs.get((entity_split[entity], template_split[t])):
                    expected[attribute, split] += 1
    survivors = ravel_answers.survivors
    got = {(a, s): row["prompts"] for a, by in survivors.items() for s, row in by.items()}
    assert got == dict(expected)
    assert expected["Country", "train"] == 33 * 5 and expected["Language", "context"] == 33 * 3
    for attribute, by in survivors.items():
        for split, row in by.items():
            assert row["correct"] <= row["prompts"]
            assert row["correct"] == sum(p.asks == attribute for p in ravel_answers.kept[split])
    # the zoo model knows its cities under its phrasings, not in JSON
    assert survivors["Country"]["train"]["correct"] >= 0.95 * 165
    assert survivors["Language"]["context"]["correct"] <= 66 + 2


def test_the_text_filter_agrees_with_token_matching_on_one_token_answers(
    zoo, zoo_answers, zoo_model
):
    assert zoo_answers.answer_tokens == 1  # every zoo value is one token
    prompts = [p for p in zoo.prompts() if instance_split(zoo, p)]
    tokens = filter_answered(zoo, zoo_model, "greedy", prompts=prompts)
    kept = {id(p) for split in zoo_answers.kept.values() for p in split}
    assert kept == {id(p) for p in tokens.kept}


def test_zoo_cities_splits_use_test_cities_and_unseen_phrasings(zoo):
    for p in zoo.prompts():
        split = instance_split(zoo, p)
        phrasing = p.tags["phrasing"]
        if split == "train":
            assert p.split == "train" and phrasing != "unseen_anywhere"
        elif split == "entity":
            assert p.split == "test" and phrasing in ("seen", "unseen_for_city")
        elif split == "context":
            assert p.split == "train" and phrasing == "unseen_anywhere"
        else:
            assert p.split == "val" or (p.split == "test" and phrasing == "unseen_anywhere")


def test_kept_prompts_are_answered_correctly(ravel_answers, runner):
    sample = [p for split in ravel_answers.kept.values() for p in split][::9]
    texts = answer_texts(runner, sample, ravel_answers.answer_tokens, batch_size=7)
    assert all(is_correct(t, p.answer) for t, p in zip(texts, sample, strict=True))


# -- pairs -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def instances(ravel_answers):
    return make_pairs(ravel_answers, n_pairs=40, seed=0)


def test_cause_pairs_satisfy_their_definition(instances, ravel_answers):
    kept = {id(p) for split in ravel_answers.kept.values() for p in split}
    pairs = instances.select(kind="cause")
    assert {p.target for p in pairs} == {"Country", "Continent", "Language"}
    for pair in pairs:
        b, s, t = pair.base, pair.source, pair.target
        assert id(b) in kept and id(s) in kept  # both answered by the model
        assert b.asks == s.asks == pair.asks == t  # a template of the same attribute
        assert entity_of(b) != entity_of(s)
        assert b.attributes[t] != s.attributes[t]
        assert pair.expected == s.answer == s.attributes[t]
    # RAVEL draws the source's template among the attribute's templates, not the base's only
    assert any(template_of(p.base) != template_of(p.source) for p in pairs)


def test_isolation_pairs_satisfy_their_definition(instances, ravel_answers):
    kept = {id(p) for split in ravel_answers.kept.values() for p in split}
    pairs = instances.select(kind="isolation")
    for pair in pairs:
        b, s, t = pair.base, pair.source, pair.target
        assert id(b) in kept and id(s) in kept
        assert b.asks == s.asks == pair.asks != t
        assert b.attributes[t] != s.attributes[t]  # the target differs ...
        assert b.attributes[b.asks] != s.attributes[b.asks]  # ... and so does the answer
        assert pair.expected == b.answer == b.attributes[b.asks]
    # the other attributes take turns
    shares = Counter(p.asks for p in instances.select(target="Country", kind="isolation"))
    assert (
        set(shares) == {"Continent", "Language"}
        and abs(shares["Continent"] - shares["Language"]) <= 1
    )


def test_pairs_are_capped_per_target_split_and_kind(instances, ravel_answers):
    counts = instances.counts()
    assert counts["Country"]["train"] == {"cause": 40, "isolation": 40}
    every = make_pairs(ravel_answers, n_pairs=100_000, targets=["Continent"])
    pairs = every.select(split="entity", kind="cause")
    keys = [(id(p.base), entity_of(p.source)) for p in pairs]
    assert len(keys) == len(set(keys))  # exhausted: every distinct (base, source entity) once
    possible = len(
        {
            (id(b), entity_of(s))
            for b in ravel_answers.kept["entity"]
            if b.asks == "Continent"
            for s in ravel_answers.kept["entity"]
            if s.asks == "Continent" and s.attributes["Continent"] != b.attributes["Continent"]
        }
    )
    assert len(pairs) == possible


def test_splits_do_not_leak(instances):
    entity_split, template_split = raw("entity_to_split"), raw("prompt_to_split")
    templates = raw("attribute_to_prompts")
    text_split = {t.rstrip(): template_split[t] for items in templates.values() for t in items}
    want = {
        "train": ("train", "train"),
        "val": ("val", "train"),
        "entity": ("test", "train"),
        "context": ("train", "test"),
    }
    for pair in instances.pairs:
        for prompt in (pair.base, pair.source):
            got = (entity_split[entity_of(prompt)], text_split[template_of(prompt)])
            assert got == want[pair.split], (pair.split, prompt.text)
    held_out = {e for e, s in entity_split.items() if s != "train"}
    train = instances.select(split="train")
    assert train and not {entity_of(p.base) for p in train} & held_out


@pytest.mark.parametrize("split, k", [("entity", 10), ("context", 20)])
def test_sources_are_drawn_with_ravels_soft_weighting(split, k):
    """RAVEL weighs a source 1/(k + count of its value): 90 entities of value "big" and 10 of
    "small" give "small" 10/(k+10) / (10/(k+10) + 90/(k+90)) of the draws (0.34 at k=10,
    0.40 at k=20); uniform over entities would give 0.10 and uniform over values 0.50."""
    import random

    from saebench.evaluators.ravel.instances import SMOOTHING, _Sampler
    from saebench.tasks.base import TaskPrompt

    def prompt(entity, value, template):
        text = template % entity
        span = (text.index(entity), text.index(entity) + len(entity))
        return TaskPrompt(text, {"entity": span}, value, {"city": entity, "v": value}, "v", "x")

    templates = ["%s is in", "we went to %s in"]
    others = [(f"c{v}{i}", v) for v, n in (("big", 90), ("small", 10)) for i in range(n)]
    prompts = [prompt(e, v, templates[i % 2]) for i, (e, v) in enumerate(others)]
    base = prompt("b0", "base", templates[0])
    sampler = _Sampler([base, *prompts], SMOOTHING[split])
    rng = random.Random(0)
    drawn = [sampler.source(base, "v", None, rng) for _ in range(3000)]
    want = (10 / (k + 10)) / (10 / (k + 10) + 90 / (k + 90))
    assert SMOOTHING[split] == k
    assert abs(sum(p.answer == "small" for p in drawn) / 3000 - want) < 0.03
    # the source's template is any of the attribute's, the base's own or another
    assert {p.text.replace(p.attributes["city"], "%s") for p in drawn} == set(templates)


def test_pairs_are_deterministic_and_independent_of_other_targets(ravel_answers, instances):
    def key(inst, **select):
        return [(p.base.text, p.source.text, p.kind, p.split) for p in inst.select(**select)]

    again = make_pairs(ravel_answers, n_pairs=40, seed=0)
    assert key(again) == key(instances)
    alone = make_pairs(ravel_answers, n_pairs=40, seed=0, targets=["Language"])
    assert key(alone) == key(instances, target="Language")
    other = make_pairs(ravel_answers, n_pairs=40, seed=1)
    assert key(other) != key(instances)


SCRIPT = """
import hashlib, sys
from saebench.evaluators.ravel.instances import Answered, instance_split, make_pairs
from saebench.tasks import build_task
task = build_task("ravel", {"data_dir": sys.argv[1]})
kept = {"train": [], "val": [], "entity": [], "context": []}
for p in task.prompts():
    if split := instance_split(task, p):
        kept[split].append(p)  # as if the model answered every prompt
inst = make_pairs(Answered(kept, {}, ["Country", "Continent", "Language"], 1), n_pairs=30)
rows = "|".join(p.base.text + p.source.text + p.kind for p in inst.pairs)
print(len(inst.pairs), hashlib.sha256(rows.encode()).hexdigest())
"""


def test_pairs_do_not_depend_on_the_process(tmp_path):
    """Two processes with different string hashing draw the same pairs (no set order leaks)."""
    import os
    import subprocess
    import sys

    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(FIXTURE)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1] and int(outputs[0].split()[0]) == 3 * 4 * 2 * 30


def test_build_instances_is_answered_then_paired(zoo, runner, zoo_answers):
    inst = build_instances(zoo, runner, targets=["country"], n_pairs=16, seed=2)
    assert inst.survivors == zoo_answers.survivors and inst.answer_tokens == 1
    paired = make_pairs(zoo_answers, targets=["country"], n_pairs=16, seed=2)
    assert [(p.base, p.source) for p in inst.pairs] == [(p.base, p.source) for p in paired.pairs]
    assert {p.split for p in inst.pairs} == {"train", "val", "entity", "context"}
    assert all(p.target == "country" for p in inst.pairs)


def test_mistakes_are_one_line_errors(zoo_answers, runner):
    with pytest.raises(SaebenchError, match="asks no prompt about 'capital'"):
        make_pairs(zoo_answers, targets=["capital"])
    with pytest.raises(SaebenchError, match="n_pairs"):
        make_pairs(zoo_answers, n_pairs=0)
    with pytest.raises(SaebenchError, match="instance_split"):
        answered(build_task("zoo-ioi", {"n": 5}), runner)
