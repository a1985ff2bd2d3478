"""RAVEL instances with the zoo model: the filter, the cause and isolation pairs, the
reweighting of source values, the splits and determinism."""

import json
from collections import Counter
from pathlib import Path

import pytest

from saebench.errors import SaebenchError
from saebench.evaluators.ravel.instances import (
    answer_texts,
    answered,
    build_instances,
    instance_split,
    is_correct,
    make_pairs,
    normalise,
)
from saebench.models.interventions import ModelRunner
from saebench.tasks import build_task, filter_by_model
from saebench.tasks.zoo import ZooCitiesTask

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


# -- the comparison ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "generated, expected, ok",
    [
        (' United States."}', "United States", True),
        ("united  STATES", "United States", True),
        (" United", "United States", False),  # truncated
        (" Indiana", "India", False),  # a longer word
        (" India, the", "India", True),
        (' Asia/Ho_Chi_Minh"', "Asia/Ho_Chi_Minh", True),
        (" 57.7° N", "57", True),
        (" 97", "-97", False),
        (" Korean", "Chinese,Korean", True),
        (" Thai", "Chinese,Korean", False),
        ("<eos>", "eos", True),
        ("", "x", False),
    ],
)
def test_is_correct(generated, expected, ok):
    assert is_correct(generated, expected) is ok


def test_normalise_keeps_words_and_signed_integers():
    assert normalise(' "Ho_Chi-Minh", -12.5°') == ["ho", "chi", "minh", "-12", "5"]


# -- filtering -------------------------------------------------------------------------------------
def test_survivors_count_every_prompt_of_each_instance_split(ravel_answers):
    labels, entity_split = raw("entity_attributes"), raw("entity_to_split")
    templates, template_split = raw("attribute_to_prompts"), raw("prompt_to_split")
    pairs = {("train", "train"): "train", ("test", "train"): "entity", ("train", "test"): "context"}
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
    tokens = filter_by_model(zoo, zoo_model, prompts=prompts)
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
        assert b.asks == s.asks == pair.asks == t
        assert template_of(b) == template_of(s) and entity_of(b) != entity_of(s)
        assert b.attributes[t] != s.attributes[t]
        assert pair.expected == s.answer == s.attributes[t]


def test_isolation_pairs_satisfy_their_definition(instances, ravel_answers):
    kept = {id(p) for split in ravel_answers.kept.values() for p in split}
    pairs = instances.select(kind="isolation")
    for pair in pairs:
        b, s, t = pair.base, pair.source, pair.target
        assert id(b) in kept and id(s) in kept
        assert b.asks == s.asks == pair.asks != t
        assert template_of(b) == template_of(s)
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
    assert len(keys) == len(set(keys))  # exhausted: every distinct pair once
    possible = sum(
        1
        for b in ravel_answers.kept["entity"]
        if b.asks == "Continent"
        for s in ravel_answers.kept["entity"]
        if s.asks == "Continent"
        and template_of(s) == template_of(b)
        and s.attributes["Continent"] != b.attributes["Continent"]
    )
    assert len(pairs) == possible


def test_splits_do_not_leak(instances):
    entity_split, template_split = raw("entity_to_split"), raw("prompt_to_split")
    templates = raw("attribute_to_prompts")
    text_split = {t.rstrip(): template_split[t] for items in templates.values() for t in items}
    want = {"train": ("train", "train"), "entity": ("test", "train"), "context": ("train", "test")}
    for pair in instances.pairs:
        for prompt in (pair.base, pair.source):
            got = (entity_split[entity_of(prompt)], text_split[template_of(prompt)])
            assert got == want[pair.split], (pair.split, prompt.text)
    held_out = {e for e, s in entity_split.items() if s != "train"}
    train = instances.select(split="train")
    assert train and not {entity_of(p.base) for p in train} & held_out


def test_source_values_are_reweighted_to_uniform(ravel_answers):
    """24 of the 33 train cities are in Europe: drawn by entity, a non-European base would get
    a European source 24/30 of the time; drawn by value first, a third of the time."""
    bases = [p for p in ravel_answers.kept["train"] if p.asks == "Continent"]
    to_europe = Counter()
    from_europe = Counter()
    for seed in range(3):
        inst = make_pairs(ravel_answers, targets=["Continent"], n_pairs=len(bases), seed=seed)
        for pair in inst.select(split="train", kind="cause"):
            if pair.base.attributes["Continent"] == "Europe":
                from_europe[pair.expected] += 1
            else:
                to_europe[pair.expected == "Europe"] += 1
    share = to_europe[True] / sum(to_europe.values())
    assert 0.2 < share < 0.5, to_europe
    assert set(from_europe) == {"Asia", "Africa", "South America"}
    total = sum(from_europe.values())
    assert all(0.25 < n / total < 0.42 for n in from_europe.values()), from_europe


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
kept = {"train": [], "entity": [], "context": []}
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
    assert outputs[0] == outputs[1] and int(outputs[0].split()[0]) == 3 * 3 * 2 * 30


def test_build_instances_is_answered_then_paired(zoo, runner, zoo_answers):
    inst = build_instances(zoo, runner, targets=["country"], n_pairs=16, seed=2)
    assert inst.survivors == zoo_answers.survivors and inst.answer_tokens == 1
    paired = make_pairs(zoo_answers, targets=["country"], n_pairs=16, seed=2)
    assert [(p.base, p.source) for p in inst.pairs] == [(p.base, p.source) for p in paired.pairs]
    assert {p.split for p in inst.pairs} == {"train", "entity", "context"}
    assert all(p.target == "country" for p in inst.pairs)


def test_mistakes_are_one_line_errors(zoo_answers, runner):
    with pytest.raises(SaebenchError, match="asks no prompt about 'capital'"):
        make_pairs(zoo_answers, targets=["capital"])
    with pytest.raises(SaebenchError, match="n_pairs"):
        make_pairs(zoo_answers, n_pairs=0)
    with pytest.raises(SaebenchError, match="instance_split"):
        answered(build_task("zoo-ioi", {"n": 5}), runner)
