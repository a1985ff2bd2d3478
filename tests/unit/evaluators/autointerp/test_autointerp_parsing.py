"""Parsing the judge's answers: explanations, 0/1 lists, label logprobs, A/B choices."""

import math

import pytest

from saebench.evaluators.autointerp.classify import label_probabilities, parse_labels
from saebench.evaluators.autointerp.explain import parse_explanation
from saebench.evaluators.autointerp.intervention import parse_choice
from saebench.llm.client import TokenLogprob


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Explanation: dates in letters", "dates in letters"),
        ("Thinking...\nExplanation: first\nmore\nExplanation: second one", "second one"),
        ("**Explanation:** the word 'of'", "the word 'of'"),
        ("[EXPLANATION]: country names", "country names"),
        ("explanation:   **commas before names**  ", "commas before names"),
        ('Explanation: "Fires on city names."', "Fires on city names."),
        # quoted literal strings keep their quotes: they name tokens
        ('Explanation: "Paris", "France"', '"Paris", "France"'),
        ('Explanation: "of"', '"of"'),
        ("> Explanation: quoted in markdown", "quoted in markdown"),
    ],
)
def test_explanations_are_found_and_cleaned(text, expected):
    assert parse_explanation(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "no answer here",
        "Explanation:",
        "Explanation:   ",
        "Explanation: ****",
        "The explanation is unclear",
        "Explanations are hard: x",
    ],
)
def test_missing_or_empty_explanations_are_failures(text):
    assert parse_explanation(text) is None


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("[1, 0, 1]", 3, ([1, 0, 1], None)),
        ("Sure! Here: [0,0]", 2, ([0, 0], None)),
        ("draft [1] then final [1, 1]", 2, ([1, 1], None)),  # the last list counts
        ('["1", "0"]', 2, ([1, 0], None)),
        ("[true, false]", 2, ([1, 0], None)),
        ("[1.0, 0.0]", 2, ([1, 0], None)),
        ("[1, 0]", 3, (None, "wrong_length")),
        ("[1, 0, 1, 1]", 3, (None, "wrong_length")),
        ("[]", 1, (None, "wrong_length")),
        ("1, 0, 1", 3, (None, "unparsable")),
        ("[1, 2, 0]", 3, (None, "unparsable")),
        ("[1, 0, yes]", 3, (None, "unparsable")),
        ("[1, 0,", 2, (None, "unparsable")),
        ("[0.5, 1]", 2, (None, "unparsable")),
        (None, 2, (None, "unparsable")),
        ("[[1, 0]]", 2, ([1, 0], None)),  # the innermost list
    ],
)
def test_label_lists(text, n, expected):
    assert parse_labels(text, n) == expected


def token(text, top):
    return TokenLogprob(text, top.get(text, 0.0), top)


def test_label_probabilities_from_top_alternatives():
    lp = [
        token("[", {}),
        token("1", {"1": math.log(0.9), "0": math.log(0.1)}),
        token(", ", {}),
        token("0", {"0": math.log(0.6), " 1": math.log(0.2), "1": math.log(0.2)}),
        token("]", {}),
    ]
    probs = label_probabilities(lp, 2)
    assert probs[0] == pytest.approx(0.9)
    assert probs[1] == pytest.approx(0.4 / 1.0)  # both spellings of "1" add up
    assert label_probabilities(lp, 3) == [None, None, None]  # a count mismatch: unknown
    assert label_probabilities(None, 2) == [None, None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A", "A"),
        (" B.", "B"),
        ("**A**", "A"),
        ("Passage B", "B"),
        ("B, since it ...", "B"),
        ("Either A or B", None),
        ("neither", None),
        ("", None),
        (None, None),
    ],
)
def test_choices(text, expected):
    assert parse_choice(text) == expected
