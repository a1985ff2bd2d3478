"""Keep the prompts of a task that a model answers correctly (RAVEL's "model-specific
instances"), and say how many survived per attribute and split.

Two rules:

* ``"greedy"``: the model's greedy continuation of the answer's length equals the answer;
* ``"rank"``: at the last prompt token, the answer's first token has a higher logit than the
  first token of every other value of the attribute asked (``task.attribute_values()``);
  values sharing the answer's first token do not count against it. A value's first token is
  taken as it continues the first prompt asking about that attribute.

Example:
    >>> survivors = filter_by_model(build_task("zoo-cities"), model, split="test")
    >>> survivors.rows()   # [{"attribute": "country", "split": "test", "prompts": ..., ...}]
    >>> kept = survivors.kept
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from saebench.tasks.base import Task, TaskPrompt


@dataclass
class Survivors:
    """The prompts kept, and ``counts[(attribute, split)] = (prompts, kept)``."""

    kept: list[TaskPrompt]
    counts: dict[tuple[str, str], tuple[int, int]]
    method: str

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


def filter_by_model(
    task: Task,
    model,
    method: Literal["greedy", "rank"] = "greedy",
    split: str | None = None,
    prompts: Sequence[TaskPrompt] | None = None,
    batch_size: int = 128,
) -> Survivors:
    """The prompts of ``task`` (those of ``split``, or ``prompts``) that ``model`` (a
    HookedTransformer or a :class:`~saebench.models.interventions.ModelRunner`) answers by ``method``.
    """
    from saebench.models.interventions import ModelRunner

    runner = model if isinstance(model, ModelRunner) else ModelRunner(model)
    items = list(task.prompts(split) if prompts is None else prompts)
    if method == "greedy":
        correct = _greedy(runner, items, batch_size)
    elif method == "rank":
        correct = _ranked(runner, task, items, batch_size)
    else:
        raise ValueError(f"method must be 'greedy' or 'rank', not {method!r}")
    total, kept = Counter(), Counter()
    for prompt, ok in zip(items, correct, strict=True):
        total[prompt.asks, prompt.split] += 1
        kept[prompt.asks, prompt.split] += ok
    counts = {key: (total[key], kept[key]) for key in total}
    survivors = [p for p, ok in zip(items, correct, strict=True) if ok]
    return Survivors(kept=survivors, counts=counts, method=method)


def _greedy(runner, prompts: list[TaskPrompt], batch_size: int) -> list[bool]:
    from saebench.models.prompts import make_batch

    out: list[bool] = []
    for start in range(0, len(prompts), batch_size):
        batch = make_batch(runner.model, prompts[start : start + batch_size])
        out += batch.matches(runner.answer(batch)[0]).tolist()
    return out


def _ranked(runner, task: Task, prompts: list[TaskPrompt], batch_size: int) -> list[bool]:
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
