"""What detection and fuzzing share: examples cut into prompts, the judge's 0/1 list parsed,
and the probability of "1" read from the answer's logprobs.

A prompt holds ``per_prompt`` examples (the last one fewer) in a seeded shuffled order. Its
answer must be a JSON list of as many 0/1 values; otherwise all its examples are counted
failures of one kind ("unparsable" or "wrong_length") and none is scored. A client failure
(timeout, rate limit...) counts its examples under the client's kind.

Example:
    >>> parse_labels("Sure: [1, 0, 1]", 3)
    ([1, 0, 1], None)
    >>> parse_labels("[1, 0]", 3)
    (None, 'wrong_length')
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field

_LIST = re.compile(r"\[[^\[\]]*\]")
_LABELS = {"0": 0, "1": 1}


@dataclass
class Item:
    """One example to classify: its one-line text and its true label (1: the explanation
    should apply)."""

    text: str
    label: int
    ref: int  # index of the example in the latent's list, for the details


@dataclass
class Outcome:
    """Labels, predictions and (when logprobs came back) P(1), of the scored items."""

    labels: list[int] = field(default_factory=list)
    predictions: list[int] = field(default_factory=list)
    probabilities: list[float | None] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)  # kind -> examples lost

    @property
    def n(self) -> int:
        return len(self.labels)


def chunk(items: list[Item], per_prompt: int, rng: random.Random) -> list[list[Item]]:
    """Shuffle (seeded) and cut into prompts of ``per_prompt`` items."""
    order = list(items)
    rng.shuffle(order)
    return [order[i : i + per_prompt] for i in range(0, len(order), per_prompt)]


def user_message(explanation: str, items: list[Item], intro: str) -> str:
    lines = [f"Explanation: {explanation}", "", intro, ""]
    lines += [f"Example {n}: {item.text}" for n, item in enumerate(items, 1)]
    lines += ["", f"Answer with a JSON list of {len(items)} values, 1 or 0, one per example."]
    return "\n".join(lines)


def parse_labels(text: str | None, n: int) -> tuple[list[int] | None, str | None]:
    """The 0/1 list of an answer (the last bracketed list in it), or (None, failure kind)."""
    found = _LIST.findall(text or "")
    if not found:
        return None, "unparsable"
    try:
        values = json.loads(found[-1])
    except json.JSONDecodeError:
        return None, "unparsable"
    labels = [_label(v) for v in values]
    if any(v is None for v in labels):
        return None, "unparsable"
    if len(labels) != n:
        return None, "wrong_length"
    return labels, None


def _label(value) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip() in _LABELS:
        return _LABELS[value.strip()]
    return None


def label_probabilities(logprobs, n: int) -> list[float | None]:
    """P("1") / (P("0") + P("1")) at each of the answer's label tokens, from their top
    alternatives; ``[None] * n`` unless exactly ``n`` label tokens are found."""
    if not logprobs:
        return [None] * n
    out = []
    for token in logprobs:
        if token.token.strip(" [],\n") not in _LABELS:
            continue
        mass = {0: 0.0, 1: 0.0}
        for alt, value in (token.top or {token.token: token.logprob}).items():
            label = _LABELS.get(alt.strip(" [],\n"))
            if label is not None:
                mass[label] += math.exp(value)
        total = mass[0] + mass[1]
        out.append(mass[1] / total if total > 0 else None)
    return out if len(out) == n else [None] * n


def collect(prompts: list[list[Item]], replies: list, outcome: Outcome) -> None:
    """Score each prompt's answer into ``outcome`` (failures counted per kind)."""
    from saebench.llm.client import LlmFailure

    for items, reply in zip(prompts, replies, strict=True):
        if isinstance(reply, LlmFailure):
            outcome.failures[reply.kind] += len(items)
            continue
        labels, kind = parse_labels(reply.text, len(items))
        if labels is None:
            outcome.failures[kind] += len(items)
            continue
        probs = label_probabilities(reply.logprobs, len(items))
        for item, predicted, prob in zip(items, labels, probs, strict=True):
            outcome.labels.append(item.label)
            outcome.predictions.append(predicted)
            outcome.probabilities.append(prob)
