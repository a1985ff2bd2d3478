"""The task metric of every supervised score: the logit of the prompt's answer minus the logit
of its counterfactual answer, at the prompt's last token.

The counterfactual answer of a prompt is the answer of the source prompt that a pair builder
makes from it by changing the attribute the prompt asks (``prompt.asks``). The builder is
chosen once per task: among the builders whose sources change the asked attribute, those
whose new value is one the base prompt already holds in another attribute come first (the
distractor of the prompt), then by name. On IOI the asked attribute is ``io``; ``swap_io_s``
makes the subject the new answer, so the metric is IOI's logit(IO) - logit(S). A config can
name the builder instead.

Example:
    >>> builder = metric_builder(task, prompts)             # "swap_io_s" on zoo-ioi
    >>> pairs = counterfactual_answers(task, prompts, builder)
"""

from __future__ import annotations

from collections.abc import Sequence

from saebench.errors import SaebenchError
from saebench.tasks.base import Task, TaskPrompt


def metric_builder(task: Task, prompts: Sequence[TaskPrompt], name: str | None = None) -> str:
    """The pair builder whose sources give the counterfactual answers (see the module)."""
    builders = task.pair_builders()
    if name is not None:
        if name not in builders:
            known = ", ".join(sorted(builders)) or "none"
            raise SaebenchError(
                f"supervised: task {task.name!r} has no pair builder {name!r} "
                f"for metric_builder (builders: {known})"
            )
        return name
    sample = list(prompts[:32])
    ranked = []
    for builder in sorted(builders):
        pairs = task.pairs(builder, prompts=sample)
        changes = [p for p in pairs if p.source.answer != p.base.answer]
        if not changes:
            continue
        distractor = sum(p.source.answer in _others(p.base) for p in changes) / len(changes)
        ranked.append((-distractor, builder))
    if not ranked:
        raise SaebenchError(
            f"supervised: no pair builder of task {task.name!r} changes the asked attribute, "
            "so no counterfactual answer defines the metric; add one (pair_builders) or set "
            "metric_builder"
        )
    return min(ranked)[1]


def _others(prompt: TaskPrompt) -> set[str]:
    """Values the prompt holds in attributes other than the one it asks."""
    return {v for a, v in prompt.attributes.items() if a != prompt.asks}


def counterfactual_answers(
    task: Task, prompts: Sequence[TaskPrompt], builder: str, seed: int = 0
) -> list[str | None]:
    """Per prompt, the counterfactual answer (None: no source, or the same answer)."""
    sources = {id(p.base): p.source for p in task.pairs(builder, prompts=list(prompts), seed=seed)}
    out: list[str | None] = []
    for prompt in prompts:
        source = sources.get(id(prompt))
        out.append(None if source is None or source.answer == prompt.answer else source.answer)
    return out
