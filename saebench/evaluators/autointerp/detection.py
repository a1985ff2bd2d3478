"""Detection: does the explanation tell activating windows from checked non-activating ones?

The judge sees the explanation and unmarked examples, activating (label 1) and negatives
checked non-activating on every token (label 0), shuffled, ``per_prompt`` to a prompt, and
answers a 0/1 list. Per latent: balanced accuracy, F1, and AUROC from P("1") when the server
returns logprobs.

Example:
    >>> prompts, requests = detection_requests("dates", activating, negatives, 10, rng)
    >>> scores, failures = detection_scores(prompts, llm.chat(requests))
"""

from __future__ import annotations

import random

from saebench.evaluators.autointerp.classify import Item, Outcome, chunk, collect, user_message
from saebench.evaluators.autointerp.render import Example, marked_text
from saebench.evaluators.autointerp.scoring import auroc, balanced_accuracy, f1

SYSTEM = (
    "You check explanations of a language-model feature. You get an explanation of what the "
    "feature responds to and numbered text excerpts. For each excerpt decide whether the "
    "feature, as explained, would be active on at least one of its tokens. Reply with only a "
    "JSON list with one value per excerpt, in order: 1 if it would be active, 0 if not, "
    "e.g. [0, 1, 0]."
)
INTRO = "Which of these excerpts would the feature be active on?"


def detection_requests(
    explanation: str,
    activating: list[Example],
    negatives: list[Example],
    per_prompt: int,
    rng: random.Random,
    logprobs: bool = True,
):
    """The prompts (lists of items) and their chat requests."""
    from saebench.llm.client import ChatRequest

    items = [Item(marked_text(ex.tokens), 1, i) for i, ex in enumerate(activating)]
    items += [
        Item(marked_text(ex.tokens), 0, len(activating) + i) for i, ex in enumerate(negatives)
    ]
    prompts = chunk(items, per_prompt, rng)
    requests = [
        ChatRequest(
            messages=(("system", SYSTEM), ("user", user_message(explanation, p, INTRO))),
            purpose="detect",
            max_tokens=3 * len(p) + 8,
            logprobs=logprobs,
            top_logprobs=5 if logprobs else 0,
        )
        for p in prompts
    ]
    return prompts, requests


def detection_scores(prompts, replies) -> tuple[dict | None, dict[str, int]]:
    """Scores of one latent (None if no example could be scored) and failures per kind."""
    outcome = Outcome()
    collect(prompts, replies, outcome)
    return summarise(outcome, with_auroc=True), dict(outcome.failures)


def summarise(outcome: Outcome, with_auroc: bool) -> dict | None:
    accuracy = balanced_accuracy(outcome.labels, outcome.predictions)
    if accuracy is None:
        return None
    out = {
        "balanced_accuracy": accuracy,
        "f1": f1(outcome.labels, outcome.predictions),
        "n": outcome.n,
        "positives": sum(outcome.labels),
    }
    if with_auroc:
        out["auroc"] = auroc(outcome.labels, outcome.probabilities)
    return out
