"""The answer rules of saebench.toolkit.answers: each on cases where the rules disagree
(scripted answers through the zoo tokenizer), the same rules on the real zoo model, and the
entry point's errors."""

from __future__ import annotations

import pytest
import torch

from saebench.errors import SaebenchError
from saebench.models.interventions import ModelRunner
from saebench.models.prompts import make_batch
from saebench.tasks import build_task
from saebench.tasks.base import Task, TaskPrompt
from saebench.toolkit.answers import RULES, filter_answered, is_correct, normalise


class HandMade(Task):
    """Hand-made prompts (``cases``: text and answer) asking one attribute whose values are
    ``values``."""

    name = "hand-made-answer-rules"
    version = "1"
    splits = ("test",)

    def __init__(self, cases: list[tuple[str, str]], asks: str, values: list[str]) -> None:
        super().__init__({})
        self.cases, self.asks, self.values = cases, asks, values

    def build(self, split):
        return [TaskPrompt(t, {}, a, {self.asks: a}, self.asks, split) for t, a in self.cases]

    def attribute_values(self):
        return {self.asks: self.values}


COUNTRIES = ["Japan", "France", "India", "United States"]


class Scripted(ModelRunner):
    """The zoo model's tokenizer with scripted answers: ``script[text] = (continuation,
    ranking)``; the greedy tokens are the continuation's, the logits at the last token
    rank ``ranking``'s words first (the continuation's first word when ranking is empty)."""

    def __init__(self, model, script: dict[str, tuple[str, list[str]]]) -> None:
        super().__init__(model)
        self.script = script

    def _ids(self, text: str) -> list[int]:
        return self.model.tokenizer(text, add_special_tokens=False)["input_ids"]

    def answer(self, batch, n_tokens=None, *args, **kwargs):
        n = n_tokens or batch.answer_ids.shape[1]
        rows = [(self._ids(self.script[p.text][0]) + [batch.pad_id] * n)[:n] for p in batch.prompts]
        return torch.tensor([rows])

    def logits_at(self, batch, *args, **kwargs):
        logits = torch.zeros(1, len(batch), len(self.model.tokenizer))
        for row, p in enumerate(batch.prompts):
            continuation, ranking = self.script[p.text]
            for rank, word in enumerate(ranking or continuation.split()[:1]):
                logits[0, row, self._ids(word)[0]] = 10.0 - rank
        return logits


# (text, answer, continuation, ranking, verdicts by greedy / rank / words)
DISAGREE = [
    ("Tokyo is in", "Japan", "Japan .", [], (True, True, True)),
    # a filler comes first, but the answer outranks every other value
    ("Kyoto is in", "Japan", "the Japan", ["the", "Japan", "France"], (False, True, False)),
    # the answer's punctuation differs: tokens differ, words match
    ("Osaka is in", "Japan.", "Japan ,", [], (False, True, True)),
    # a label of two values: words accept either, tokens need the whole string
    ("Lyon is in", "Japan,France", "France .", [], (False, False, True)),
    # a value outranks the answer
    ("Nara is in", "Japan", "France .", [], (False, False, False)),
]


@pytest.fixture
def scripted(zoo_model):
    script = {t: (c, r) for t, _, c, r, _ in DISAGREE}
    task = HandMade([(t, a) for t, a, *_ in DISAGREE], "country", COUNTRIES)
    return task, Scripted(zoo_model, script)


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_on_cases_where_the_rules_disagree(scripted, rule):
    task, runner = scripted
    survivors = filter_answered(task, runner, rule, split="test")
    want = [verdicts[RULES.index(rule)] for *_, verdicts in DISAGREE]
    assert survivors.correct == want
    assert survivors.rule == rule and len(survivors.kept) == sum(want)
    assert survivors.counts == {("country", "test"): (len(DISAGREE), sum(want))}
    assert survivors.answer_tokens == (2 if rule == "words" else None)  # "Japan." is 2 tokens


def test_words_judges_answer_tokens_tokens_and_greedy_the_answers_own(zoo_model):
    """A two-token answer judged on one token is truncated (wrong under words); greedy
    always reads the answer's own length."""
    text = "Paris is in"
    task = HandMade([(text, "Japan France")], "country", COUNTRIES)  # two zoo tokens
    runner = Scripted(zoo_model, {text: ("Japan France", [])})
    assert filter_answered(task, runner, "greedy", split="test").correct == [True]
    assert filter_answered(task, runner, "words", split="test").correct == [True]
    one = filter_answered(task, runner, "words", split="test", answer_tokens=1)
    assert one.correct == [False] and one.answer_tokens == 1


# -- the words comparison --------------------------------------------------------------------------
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


# -- the real zoo model ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cities():
    return build_task("zoo-cities", {"per_kind": 1, "phrasings": ["unseen_for_city"]})


def test_greedy_survivors_are_counted_per_attribute_and_split(cities, zoo_model):
    prompts = cities.prompts("test")[::7]
    survivors = filter_answered(cities, zoo_model, "greedy", prompts=prompts, batch_size=64)
    rows = survivors.rows()
    assert {r["attribute"] for r in rows} == {"country", "continent", "language"}
    assert sum(r["prompts"] for r in rows) == len(prompts)
    assert sum(r["kept"] for r in rows) == len(survivors.kept)
    assert all(r["fraction"] > 0.8 for r in rows)  # the shipped model passes its gates
    batch = make_batch(zoo_model, survivors.kept[:32])
    assert batch.matches(ModelRunner(zoo_model).answer(batch)[0]).all()


def test_greedy_and_words_agree_on_the_zoo_cities_and_rank_keeps_more_or_as_many(cities, zoo_model):
    prompts = cities.prompts("test")[::5]
    kept = {r: filter_answered(cities, zoo_model, r, prompts=prompts).correct for r in RULES}
    assert kept["greedy"] == kept["words"]  # one-token answers, one word each
    assert all(r for g, r in zip(kept["greedy"], kept["rank"], strict=True) if g)
    assert sum(kept["greedy"]) > 0.8 * len(prompts)


# (text, answer, verdicts by greedy / rank / words) of the real zoo model
ZOO_DISAGREE = [
    ("In Sharjah, most people speak", "Arabic", (True, True, True)),
    # stops before the verb: "people" comes first, Arabic still leads the languages
    ("In Sharjah, most", "Arabic", (False, True, False)),
    # a label of two values: words accept Arabic alone, tokens need "Arabic , English"
    ("In Sharjah, most people speak", "Arabic,English", (False, True, True)),
    ("In Sharjah, most people", "Arabic", (False, False, False)),
]


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_on_the_zoo_model_where_the_rules_disagree(cities, zoo_model, rule):
    values = cities.attribute_values()["language"]
    task = HandMade([(t, a) for t, a, _ in ZOO_DISAGREE], "language", values)
    survivors = filter_answered(task, zoo_model, rule, split="test")
    assert survivors.correct == [verdicts[RULES.index(rule)] for *_, verdicts in ZOO_DISAGREE]


def test_rank_on_ioi(zoo_model):
    ioi = build_task("zoo-ioi", {"n": 40})
    survivors = filter_answered(ioi, zoo_model, "rank", split="test")
    assert survivors.counts[("io", "test")][0] == 40
    assert survivors.counts[("io", "test")][1] >= 36


# -- errors ----------------------------------------------------------------------------------------
def test_an_unknown_rule_is_one_line_naming_the_known_rules(scripted):
    task, runner = scripted
    with pytest.raises(SaebenchError) as caught:
        filter_answered(task, runner, "ranked", split="test")
    message = str(caught.value)
    assert "\n" not in message and "'ranked'" in message
    assert "greedy, rank, words" in message


def test_answer_tokens_belong_to_the_words_rule(scripted):
    task, runner = scripted
    with pytest.raises(SaebenchError, match="'words' rule only"):
        filter_answered(task, runner, "greedy", split="test", answer_tokens=2)
    with pytest.raises(SaebenchError, match="at least 1"):
        filter_answered(task, runner, "words", split="test", answer_tokens=0)
