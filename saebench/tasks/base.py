"""The task protocol: labelled prompts as typed, versioned data.

A task is a class with a ``name`` (its entry-point name in the ``saebench.tasks`` group), a
``version`` (bumped whenever its prompts change), a pydantic ``Config``, and:

* ``prompts(split)``: :class:`TaskPrompt` objects, each a text with named character spans, an
  answer, discrete ``attributes`` (``asks`` names the one the answer is the value of), a
  ``split`` and free-form ``tags`` (template ids; the tags named in ``axes`` are secondary
  splits, such as the zoo cities' held-out phrasings);
* ``attribute_values()``: every value each attribute takes;
* ``pair_builders()``: counterfactual builders, each turning a base prompt into a source
  prompt with one attribute changed and the rest kept (``pairs(builder, ...)`` applies one).

Tasks read no model; :func:`saebench.models.prompts.make_batch` turns their prompts into
token batches, and :func:`saebench.toolkit.answers.filter_answered` keeps those a model
answers (by a named rule). :meth:`Task.spec` is what a record key holds.

Example (a task declared in Python, registered through an entry point or at runtime):
    >>> class Capitals(Task):
    ...     name, version, splits = "capitals", "1", ("test",)
    ...     def build(self, split):
    ...         text = "The capital of France is"
    ...         return [TaskPrompt(text, {"entity": (15, 21)}, "Paris",
    ...                            {"country": "France", "capital": "Paris"}, "capital", split)]
    ...     def attribute_values(self):
    ...         return {"country": ["France"], "capital": ["Paris"]}
    >>> from saebench.registry import tasks
    >>> tasks.register("capitals", Capitals)
    >>> build_task("capitals").prompts("test")[0].answer
    'Paris'
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from saebench.errors import SaebenchError
from saebench.records import TaskInfo

Builder = Callable[["TaskPrompt", random.Random], "TaskPrompt | None"]


@dataclass(frozen=True)
class TaskPrompt:
    """One labelled prompt. ``spans`` are character spans ``{name: (start, end)}`` of
    ``text``; ``answer`` is the text that should follow, the value of ``attributes[asks]``."""

    text: str
    spans: Mapping[str, tuple[int, int]]
    answer: str
    attributes: Mapping[str, str]
    asks: str
    split: str
    tags: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptPair:
    """A base prompt and the source prompt a counterfactual ``builder`` made from it."""

    base: TaskPrompt
    source: TaskPrompt
    builder: str


class TaskConfig(BaseModel):
    """Base of every task config: plain typed fields, ``None`` for "not set"."""

    model_config = ConfigDict(extra="forbid")


# What identifies a task's data in a record key: name, version, config and a hash of every
# prompt of every split. One model, shared with the records that hold it.
TaskSpec = TaskInfo


class Task:
    """Base of every task; subclasses set the class attributes and implement :meth:`build`
    and :meth:`attribute_values` (and :meth:`pair_builders` when they have counterfactuals)."""

    name: ClassVar[str] = ""  # set from the entry point (or the runtime registration)
    version: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[TaskConfig]] = TaskConfig
    splits: ClassVar[tuple[str, ...]] = ("train", "val", "test")
    axes: ClassVar[tuple[str, ...]] = ()  # tags that act as secondary splits

    def __init__(self, config: TaskConfig | Mapping[str, Any] | None = None) -> None:
        if isinstance(config, TaskConfig):
            config = config.model_dump()
        self.config = self.Config.model_validate(dict(config or {}))
        self._prompts: dict[str, list[TaskPrompt]] = {}

    # -- to implement -------------------------------------------------------------------------
    def build(self, split: str) -> list[TaskPrompt]:
        """Every prompt of ``split``, in a fixed order (called once per split)."""
        raise NotImplementedError

    def attribute_values(self) -> dict[str, list[str]]:
        """Every value of every attribute, sorted."""
        raise NotImplementedError

    def pair_builders(self) -> dict[str, Builder]:
        """Counterfactual builders by name: ``(base, rng) -> source`` or None (no source)."""
        return {}

    # -- provided -------------------------------------------------------------------------------
    def prompts(self, split: str | None = None) -> list[TaskPrompt]:
        """The prompts of ``split``, or of every split (in ``splits`` order)."""
        if split is None:
            return [p for s in self.splits for p in self.prompts(s)]
        if split not in self.splits:
            raise SaebenchError(
                f"task {self.name!r} has no split {split!r} (splits: {', '.join(self.splits)})"
            )
        if split not in self._prompts:
            self._prompts[split] = self.build(split)
        return self._prompts[split]

    def pairs(
        self,
        builder: str,
        prompts: list[TaskPrompt] | None = None,
        split: str | None = None,
        seed: int = 0,
    ) -> list[PromptPair]:
        """One counterfactual pair per base prompt (``prompts``, or those of ``split``) that
        ``builder`` finds a source for; reproducible from ``seed``."""
        builders = self.pair_builders()
        if builder not in builders:
            known = ", ".join(sorted(builders)) or "none"
            raise SaebenchError(f"task {self.name!r} has no pair builder {builder!r} ({known})")
        rng = random.Random(f"{self.name}|{builder}|{seed}")
        out = []
        for base in self.prompts(split) if prompts is None else prompts:
            source = builders[builder](base, rng)
            if source is not None:
                out.append(PromptPair(base, source, builder))
        return out

    def counts(self) -> dict[str, dict[str, int]]:
        """Prompts per split, per ``(split, axis value)`` and per ``(split, asks)``."""
        out: dict[str, dict[str, int]] = {}
        for split in self.splits:
            prompts = self.prompts(split)
            row: Counter[str] = Counter({"prompts": len(prompts)})
            for p in prompts:
                row[f"asks={p.asks}"] += 1
                for axis in self.axes:
                    row[f"{axis}={p.tags[axis]}"] += 1
            out[split] = dict(row)
        return out

    def fingerprint(self) -> str:
        """A stable hash of every prompt of every split (text, spans, answer, labels)."""
        digest = hashlib.sha256()
        for prompt in self.prompts():
            row = json.dumps(asdict(prompt), sort_keys=True, ensure_ascii=False)
            digest.update(row.encode())
        return digest.hexdigest()[:16]

    def spec(self) -> TaskSpec:
        """Name, version, config and fingerprint: the task's part of a record key."""
        return TaskSpec(
            name=self.name,
            version=self.version,
            config=self.config.model_dump(mode="json"),
            fingerprint=self.fingerprint(),
        )


def build_task(name: str, config: TaskConfig | Mapping[str, Any] | None = None) -> Task:
    """The registered task ``name`` built with ``config`` (defaults for missing fields).

    Example:
        >>> task = build_task("zoo-ioi", {"n": 100})
        >>> task.spec().fingerprint
    """
    from pydantic import ValidationError

    from saebench.registry import tasks

    cls = tasks.get(name)
    try:
        return cls(config)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        fields = ", ".join(cls.Config.model_fields) or "none"
        raise SaebenchError(
            f"task {name!r}: config {where}: {error['msg']} (fields: {fields})"
        ) from exc


def register_task(name: str):
    """Class decorator for a task without a package: usable as ``task: {name: ...}`` and by
    ``saebench tasks show``. A package declares an entry point in ``saebench.tasks`` instead.

    Example:
        >>> @register_task("my-task")
        ... class MyTask(Task): ...
    """
    from saebench.registry import tasks

    return tasks.decorator(name)
