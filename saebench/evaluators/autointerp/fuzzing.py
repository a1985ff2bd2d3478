"""Fuzzing: does the explanation tell correctly marked tokens from wrongly marked ones?

Every scoring window is activating; a seeded half keeps its true marks (its strongest
tokens, label 1), the other half gets the same marks (as many runs, as long) moved onto
tokens where the latent is not active (label 0), so the text and the shape of the marks
give nothing away. A window with too little inactive text to move its marks stays
correctly marked. Per latent: balanced accuracy and F1.

Example:
    >>> prompts, requests = fuzzing_requests("dates", activating, 0.3, 10, rng)
    >>> scores, failures = fuzzing_scores(prompts, llm.chat(requests))
"""

from __future__ import annotations

import random

from saebench.evaluators.autointerp.classify import Item, Outcome, chunk, collect, user_message
from saebench.evaluators.autointerp.detection import summarise
from saebench.evaluators.autointerp.render import Example, marked_text, strongest

SYSTEM = (
    "You check explanations of a language-model feature. You get an explanation and numbered "
    "text excerpts in which some tokens are marked <<like this>>. For each excerpt decide "
    "whether the marked tokens are exactly where the feature, as explained, is active: 1 if "
    "all marked tokens fit the explanation, 0 if they do not. Reply with only a JSON list "
    "with one value per excerpt, in order, e.g. [1, 0, 1]."
)
INTRO = "Are the marked tokens of each excerpt the ones the explanation describes?"


def wrong_marks(example: Example, right: list[bool], rng: random.Random) -> list[bool] | None:
    """Marks with the runs of ``right`` (as many, as long) moved onto tokens where the latent
    is inactive (never special, never blank), not touching each other; None if they do not
    fit. Same count and shape of marks: only their place tells right from wrong."""
    free = [
        a <= 0 and not s and bool(t.strip())
        for a, s, t in zip(example.acts, example.special, example.tokens, strict=True)
    ]
    lengths = _run_lengths(right)
    if not lengths:
        return None
    rng.shuffle(lengths)
    marks = [False] * len(free)
    for length in lengths:
        starts = [
            s
            for s in range(len(free) - length + 1)
            if all(free[s : s + length]) and not any(marks[max(0, s - 1) : s + length + 1])
        ]
        if not starts:
            return None
        s = rng.choice(starts)
        marks[s : s + length] = [True] * length
    return marks


def _run_lengths(marks: list[bool]) -> list[int]:
    runs, current = [], 0
    for mark in [*marks, False]:
        if mark:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    return runs


def fuzzing_items(activating: list[Example], fraction: float, rng: random.Random) -> list[Item]:
    wrong = set(rng.sample(range(len(activating)), len(activating) // 2))
    items = []
    for i, ex in enumerate(activating):
        right = strongest(ex.acts, ex.special, fraction)
        marks = wrong_marks(ex, right, rng) if i in wrong else None
        label = 0 if marks is not None else 1
        items.append(Item(marked_text(ex.tokens, marks or right), label, i))
    return items


def fuzzing_requests(
    explanation: str,
    activating: list[Example],
    fraction: float,
    per_prompt: int,
    rng: random.Random,
):
    from saebench.llm.client import ChatRequest

    prompts = chunk(fuzzing_items(activating, fraction, rng), per_prompt, rng)
    requests = [
        ChatRequest(
            messages=(("system", SYSTEM), ("user", user_message(explanation, p, INTRO))),
            purpose="fuzz",
            max_tokens=3 * len(p) + 8,
        )
        for p in prompts
    ]
    return prompts, requests


def fuzzing_scores(prompts, replies) -> tuple[dict | None, dict[str, int]]:
    outcome = Outcome()
    collect(prompts, replies, outcome)
    return summarise(outcome, with_auroc=False), dict(outcome.failures)
