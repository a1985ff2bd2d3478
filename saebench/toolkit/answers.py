"""Which prompts of a task a model answers correctly: every answer rule of saebench in one
place, each named, behind one entry point (:func:`filter_answered`).

The rules:

* ``"greedy"``: the model's greedy continuation, as many tokens as the answer takes,
  equals the answer token for token (the answer tokenised as it continues the prompt).
  Used by ``supervised`` (its default ``filter``) and to measure the ``smollm2-*`` tasks.
* ``"rank"``: at the last prompt token, the answer's first token has a higher logit than
  the first token of every other value of the attribute asked (``task.attribute_values()``);
  values sharing the answer's first token do not count against it. A value's first token is
  taken as it continues the first prompt asking about that attribute. A model that ranks
  the answer above its rivals is kept even when a word outside the values comes first.
* ``"words"``: RAVEL's rule. The greedy continuation of ``answer_tokens`` tokens (default:
  the longest answer, alone or after a space), decoded, begins with the answer word for
  word (:func:`is_correct`: case, spaces and punctuation do not count; a label of several
  values joined by commas accepts any of them). RAVEL scores its interventions with the
  same :func:`is_correct`, so a prompt is judged by one rule before and after an edit.

The rules differ where tokens and words part: an answer continued by a longer word
("India" then "na") passes ``greedy`` but not ``words``; a RAVEL label of several values
("Arabic,Kurdish") is met by any one of them under ``words``, by the whole string under
``greedy``; a prompt whose greedy token is a filler ("the") may pass ``rank`` alone.

Example:
    >>> survivors = filter_answered(build_task("zoo-cities"), model, "greedy", split="test")
    >>> survivors.rows()   # [{"attribute": "country", "split": "test", "prompts": ..., ...}]
    >>> survivors.kept, survivors.correct   # the prompts kept; one verdict per prompt
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from saebench.errors import SaebenchError
from saebench.tasks.ravel import alternatives

if TYPE_CHECKING:  # pragma: no cover
    from saebench.tasks.base import Task, TaskPrompt

RULES: tuple[str, ...] = ("greedy", "rank", "words")


@dataclass
class Survivors:
    """The prompts kept, one verdict per prompt asked (``correct``, in order), and
    ``counts[(attribute, split)] = (prompts, kept)``; ``answer_tokens`` is the number of
    greedy tokens compared (``"words"`` only; None for the other rules)."""

    kept: list[TaskPrompt]
    counts: dict[tuple[str, str], tuple[int, int]]
    rule: str
    correct: list[bool]
    answer_tokens: int | None = None

    def rows(self) -> list[dict]:
        """One row per (attribute, split): prompts, kept and the kept fraction."""
        return [
            {
                "attribute": attribute,
                "split": split,
                "prompts": total,
                "kept": kept,
                "fraction": round(kept / total, 4) if total else 0.0,
            }
            for (attribute, split), (total, kept) in sorted(self.counts.items())
        ]


def check_rule(rule: str) -> str:
    """``rule`` if it is a known rule name, else a one-line :class:`SaebenchError`."""
    if rule not in RULES:
        raise SaebenchError(
            f"unknown answer rule {rule!r}: use one of {', '.join(RULES)} "
            "(see saebench.toolkit.answers)"
        )
    return rule


def filter_answered(
    task: Task,
    model,
    rule: str,
    *,
    split: str | None = None,
    prompts: Sequence[TaskPrompt] | None = None,
    batch_size: int = 128,
    answer_tokens: int | None = None,
) -> Survivors:
    """The prompts of ``task`` (those of ``split``, or ``prompts``) that ``model`` (a
    HookedTransformer or a :class:`~saebench.models.ModelRunner`) answers by ``rule``
    (a name of :data:`RULES`). ``answer_tokens`` applies to ``"words"`` only.

    Example:
        >>> filter_answered(task, runner, "words", prompts=prompts, batch_size=64).correct
    """
    check_rule(rule)
    from saebench.models.interventions import ModelRunner

    runner = model if isinstance(model, ModelRunner) else ModelRunner(model)
    items = list(task.prompts(split) if prompts is None else prompts)
    tokens = _tokens_compared(rule, runner.model, items, answer_tokens)
    correct = _RULES[rule](runner, task, items, batch_size, tokens)
    total, kept = Counter(), Counter()
    for prompt, ok in zip(items, correct, strict=True):
        total[prompt.asks, prompt.split] += 1
        kept[prompt.asks, prompt.split] += ok
    counts = {key: (total[key], kept[key]) for key in total}
    survivors = [p for p, ok in zip(items, correct, strict=True) if ok]
    return Survivors(survivors, counts, rule, correct, tokens)


def _tokens_compared(rule: str, model, prompts, answer_tokens: int | None) -> int | None:
    if rule != "words":
        if answer_tokens is not None:
            raise SaebenchError(
                f"answer_tokens applies to the 'words' rule only, not {rule!r}: leave it unset"
            )
        return None
    if answer_tokens is None:
        return default_answer_tokens(model, prompts) if prompts else 1
    if answer_tokens < 1:
        raise SaebenchError(f"answer_tokens must be at least 1, not {answer_tokens}")
    return answer_tokens


# -- "greedy" --------------------------------------------------------------------------------------
def _greedy(runner, task, prompts: list[TaskPrompt], batch_size: int, tokens) -> list[bool]:
    from saebench.models.prompts import make_batch

    out: list[bool] = []
    for start in range(0, len(prompts), batch_size):
        batch = make_batch(runner.model, prompts[start : start + batch_size])
        out += batch.matches(runner.answer(batch)[0]).tolist()
    return out


# -- "rank" ----------------------------------------------------------------------------------------
def _ranked(runner, task: Task, prompts: list[TaskPrompt], batch_size: int, tokens) -> list[bool]:
    import torch

    from saebench.models.prompts import make_batch

    values = task.attribute_values()
    asked = sorted({p.asks for p in prompts})
    candidates = {a: _first_tokens(runner.model, prompts, a, values[a]) for a in asked}
    out: list[bool] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        batch = make_batch(runner.model, chunk)
        logits = runner.logits_at(batch)[0]
        for row, prompt in enumerate(chunk):
            answer = batch.answer_ids[row, 0]
            others = candidates[prompt.asks]
            others = others[others != answer]
            best_other = logits[row, others].max() if len(others) else -torch.inf
            out.append(bool(logits[row, answer] > best_other))
    return out


def _first_tokens(model, prompts: list[TaskPrompt], asks: str, values: list[str]):
    """The distinct first tokens of ``values`` as continuations of a prompt asking ``asks``."""
    from saebench.models.prompts import Prompt, make_batch

    text = next(p.text for p in prompts if p.asks == asks)
    batch = make_batch(model, [Prompt(text, answer=v) for v in values])
    return batch.answer_ids[:, 0].unique()


# -- "words" (RAVEL's) -----------------------------------------------------------------------------
def _words(runner, task, prompts: list[TaskPrompt], batch_size: int, tokens: int) -> list[bool]:
    texts = answer_texts(runner, prompts, tokens, batch_size) if prompts else []
    return [is_correct(t, p.answer) for t, p in zip(texts, prompts, strict=True)]


_WORD = re.compile(r"-?\d+|[^\W\d_]+")


def normalise(text: str) -> list[str]:
    """The words of ``text``, case-folded: runs of letters, and integers with their sign;
    whitespace, punctuation, quotes, underscores and special-token brackets separate words.

    Example:
        >>> normalise(' "Asia/Ho_Chi_Minh"},')
        ['asia', 'ho', 'chi', 'minh']
    """
    return _WORD.findall(text.casefold())


def is_correct(generated: str, expected: str) -> bool:
    """Whether ``generated`` (decoded greedy tokens) begins with ``expected`` word for word,
    after :func:`normalise`: case, whitespace and punctuation do not count, the match must
    end at a word boundary ("Indiana" does not answer "India"), and a truncated answer
    ("United" for "United States") is wrong. A label of several values joined by commas
    (RAVEL's ``"Arabic,Kurdish"``) accepts any of them. A decimal reads as its integer part
    followed by its digits ("57.7" answers "57"), as RAVEL's coordinates are whole degrees.

    Example:
        >>> is_correct(' United States."', "United States"), is_correct(" Indiana", "India")
        (True, False)
    """
    words = normalise(generated)
    for value in alternatives(expected):
        want = normalise(value)
        if want and words[: len(want)] == want:
            return True
    return False


def default_answer_tokens(model, prompts: Sequence[TaskPrompt]) -> int:
    """The most tokens any answer of ``prompts`` takes (any of its alternatives), alone or
    after a space."""
    values = sorted({v for p in prompts for v in alternatives(p.answer)})
    tokenizer = model.tokenizer
    longest = 1
    for value in values:
        for text in (value, " " + value):
            longest = max(longest, len(tokenizer(text, add_special_tokens=False)["input_ids"]))
    return longest


def answer_texts(
    runner, prompts: Sequence[TaskPrompt], n_tokens: int, batch_size: int
) -> list[str]:
    """The decoded greedy continuation of ``n_tokens`` tokens of each prompt, in order."""
    from saebench.models.prompts import make_batch

    # similar lengths batch together (less padding); results are put back in input order
    order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i].text), i))
    texts: list[str] = [""] * len(prompts)
    tokenizer = runner.model.tokenizer
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        batch = make_batch(runner.model, [prompts[i].text for i in rows])
        tokens = runner.answer(batch, n_tokens)[0].cpu().tolist()
        for i, ids in zip(rows, tokens, strict=True):
            texts[i] = tokenizer.decode(ids)
    return texts


_RULES: dict[str, Callable[..., list[bool]]] = {"greedy": _greedy, "rank": _ranked, "words": _words}
