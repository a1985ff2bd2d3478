"""RAVEL instances: the prompts a model answers correctly, and the cause and isolation pairs
built from them, per target attribute and split.

**Filtering.** Every prompt of the task that falls in an instance split (below) is answered
by the toolkit's ``"words"`` rule (:mod:`saebench.toolkit.answers`): greedily for
``answer_tokens`` tokens, the decoded text judged by ``is_correct``, the rule that also
scores the interventions. ``survivors[attribute][split]`` says how many prompts there were
and how many the model answered.

**Pairs.** For a target attribute ``t`` and a split, among surviving prompts only:

* *cause*: the base asks about ``t``; the source is another entity's prompt asking about
  ``t`` (any template of the split's template side, the base's own or another, as RAVEL's
  ``output`` sources) whose value of ``t`` differs; ``expected`` is the source's value of ``t``;
* *isolation*: the base asks about another attribute ``a``; the source is another entity's
  prompt asking about ``a`` whose values of ``t`` **and** of ``a`` differ from the base's (a
  source sharing ``a`` would count as isolated even if everything were patched);
  ``expected`` is the base's value of ``a``. The other attributes take turns, so each gets
  an equal share of the pairs.

Sources are drawn with RAVEL's soft weighting (:data:`SMOOTHING`): a candidate weighs
``1 / (k + count)``, ``count`` the candidates sharing its answer, ``k`` 10 on the entity
(and val) split and 20 on the context split, so frequent values (English, United States)
weigh less without being flattened to uniform; the training split draws uniformly, as
RAVEL's does. Each (target, split, kind) holds at most ``n_pairs`` distinct (base, source
entity) pairs, drawn from a random generator seeded by ``seed`` and the (target, split,
kind, attribute) it serves: the pairs of one target do not depend on which other targets
were asked for.

**Splits.** ``"train"`` (train entities under train templates; for mask, probe and DAS
training), ``"val"`` (val entities under train templates; where DAS and MDAS choose their
dimension), ``"entity"`` (held-out entities under train templates) and ``"context"`` (train
entities under held-out templates); base and source always come from the same split. The
mapping comes from the task (:func:`instance_split`): a task with an ``instance_split(prompt)``
method (``ravel``) says it itself; a task with a ``phrasing`` axis (``zoo-cities``) uses its
``val`` and ``test`` cities as val and held-out entities and its ``unseen_anywhere``
phrasings (never in training for any city) as held-out templates. Diagnostic phrasings are
unused.

Example:
    >>> task = build_task("zoo-cities")
    >>> inst = build_instances(task, ModelRunner(model), targets=["country"], n_pairs=64)
    >>> inst.survivors["country"]["entity"]          # {"prompts": ..., "correct": ...}
    >>> pair = inst.select(target="country", split="entity", kind="cause")[0]
    >>> pair.base.text, pair.source.text, pair.expected
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from saebench.errors import SaebenchError
from saebench.tasks.base import Task, TaskPrompt
from saebench.tasks.ravel import instance_split_of, same_value
from saebench.toolkit.answers import filter_answered

RULE = "words"  # RAVEL's answer rule: the intervention scores judge answers the same way
SPLITS: tuple[str, ...] = ("train", "val", "entity", "context")
KINDS: tuple[str, ...] = ("cause", "isolation")


@dataclass(frozen=True)
class RavelPair:
    """A base prompt, the source whose entity representation is patched in, and the answer
    that counts as success (see the module docstring)."""

    base: TaskPrompt
    source: TaskPrompt
    target: str  # the attribute the intervention means to change
    asks: str  # the attribute the base prompt asks about (== target for cause pairs)
    kind: str  # "cause" | "isolation"
    expected: str  # source's value of `asks` (cause) or base's value (isolation)
    split: str  # "train" | "entity" | "context"


@dataclass
class Instances:
    """The pairs, and ``survivors[attribute][split] = {"prompts": n, "correct": k}``.

    ``answer_tokens`` is the number of greedy tokens the filter compared: score
    interventions with the same number, so that a prompt is judged by the same rule.
    """

    pairs: list[RavelPair]
    survivors: dict[str, dict[str, dict[str, int]]]
    answer_tokens: int = 1

    def select(
        self, *, target: str | None = None, split: str | None = None, kind: str | None = None
    ) -> list[RavelPair]:
        """The pairs of one target, split and/or kind (None: any), in their stored order.

        Example:
            >>> instances.select(target="country", split="train", kind="isolation")
        """
        return [
            p
            for p in self.pairs
            if (target is None or p.target == target)
            and (split is None or p.split == split)
            and (kind is None or p.kind == kind)
        ]

    def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """Pairs per ``[target][split][kind]``."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for p in self.pairs:
            row = out.setdefault(p.target, {}).setdefault(p.split, dict.fromkeys(KINDS, 0))
            row[p.kind] += 1
        return out


# -- splits ----------------------------------------------------------------------------------------
def instance_split(task: Task, prompt: TaskPrompt) -> str | None:
    """``"train"``, ``"entity"``, ``"context"`` or None (unused) for one prompt of ``task``:
    the task's own ``instance_split`` method when it has one, else its ``phrasing`` axis
    (zoo-cities: ``test`` cities are held out, ``unseen_anywhere`` phrasings are held-out
    templates, diagnostic phrasings are unused)."""
    own = getattr(task, "instance_split", None)
    if callable(own):
        return own(prompt)
    if "phrasing" in task.axes:
        phrasing = prompt.tags["phrasing"]
        if phrasing == "diagnostic":
            return None
        return instance_split_of(prompt.split, "test" if phrasing == "unseen_anywhere" else "train")
    raise SaebenchError(
        f"task {task.name!r} does not say which prompts hold held-out templates: give it an "
        "instance_split(prompt) method or a 'phrasing' axis (see docs/evaluators/ravel.md)"
    )


# -- filtering -------------------------------------------------------------------------------------
@dataclass
class Answered:
    """The prompts a model answered, per instance split, with the counts of
    :class:`Instances` and the number of tokens compared; :func:`make_pairs` draws pairs
    from it (with any seed or cap, without answering again)."""

    kept: dict[str, list[TaskPrompt]]
    survivors: dict[str, dict[str, dict[str, int]]]
    attributes: list[str]
    answer_tokens: int


def answered(
    task: Task, runner, *, answer_tokens: int | None = None, batch_size: int = 64
) -> Answered:
    """Answer every prompt of ``task`` that falls in an instance split, and keep the right ones.

    Example:
        >>> kept = answered(build_task("zoo-cities"), ModelRunner(model))
        >>> kept.survivors["country"]["entity"]
    """
    attributes = list(dict.fromkeys(p.asks for p in task.prompts()))
    items = [(p, s) for p in task.prompts() if (s := instance_split(task, p))]
    prompts = [p for p, _ in items]
    answers = filter_answered(
        task, runner, RULE, prompts=prompts, batch_size=batch_size, answer_tokens=answer_tokens
    )
    counts = {a: {s: {"prompts": 0, "correct": 0} for s in SPLITS} for a in attributes}
    kept: dict[str, list[TaskPrompt]] = {s: [] for s in SPLITS}
    for (prompt, split), ok in zip(items, answers.correct, strict=True):
        counts[prompt.asks][split]["prompts"] += 1
        counts[prompt.asks][split]["correct"] += ok
        if ok:
            kept[split].append(prompt)
    return Answered(kept, counts, attributes, answers.answer_tokens)


# -- pairs -----------------------------------------------------------------------------------------
def _entity(prompt: TaskPrompt) -> str:
    start, end = prompt.spans["entity"]
    return prompt.text[start:end]


def _template(prompt: TaskPrompt) -> tuple[str, str]:
    """The prompt's text with its entity cut out, and the attribute it asks: two prompts
    share a template when these are equal."""
    start, end = prompt.spans["entity"]
    return prompt.text[:start] + "\0" + prompt.text[end:], prompt.asks


# RAVEL's soft reweighting of source entities (``generate_ravel_instance.py``): a candidate
# weighs 1/(k + count of its label among the candidates), k = 10 on the entity split and 20 on
# the context split (RAVEL's val entities are drawn as its test ones); its training split
# samples uniformly (None)
SMOOTHING: dict[str, int | None] = {"train": None, "val": 10, "entity": 10, "context": 20}


class _Sampler:
    """Sources for bases of one split: RAVEL's ``output`` sources, i.e. any surviving prompt
    of the split asking the base's attribute (its template drawn with it, so other templates
    of the attribute serve too), weighted by :data:`SMOOTHING`."""

    def __init__(self, prompts: list[TaskPrompt], smoothing: int | None) -> None:
        self.by_asks: dict[str, list[TaskPrompt]] = defaultdict(list)
        for prompt in prompts:
            self.by_asks[prompt.asks].append(prompt)
        self.smoothing = smoothing
        self._pools: dict[tuple, tuple[list[TaskPrompt], list[float]]] = {}

    def _pool(self, base: TaskPrompt, target: str, also: str | None):
        """Candidates whose ``target`` (and ``also``) value differs from the base's, with
        their weights; the counts run over every candidate of the attribute, as RAVEL's do
        (its pool is drawn first and filtered after)."""
        a = base.attributes
        key = (base.asks, target, a.get(target), also, a.get(also) if also else None)
        if key not in self._pools:
            every = self.by_asks[base.asks]
            counts = Counter(p.answer for p in every)
            pool, weights = [], []
            for other in every:
                o = other.attributes
                if target not in o or same_value(o[target], a[target]):
                    continue
                if also is not None and same_value(o[also], a[also]):
                    continue
                pool.append(other)
                k = self.smoothing
                weights.append(1.0 if k is None else 1.0 / (k + counts[other.answer]))
            self._pools[key] = (pool, list(itertools.accumulate(weights)))
        return self._pools[key]

    def source(
        self,
        base: TaskPrompt,
        target: str,
        also: str | None,
        rng: random.Random,
        used: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> TaskPrompt | None:
        """A weighted draw among the candidates whose entity is not in ``used``."""
        pool, cumulative = self._pool(base, target, also)
        for _ in range(8):  # rejection first: a base has used few of its many sources
            if not pool:
                return None
            pick = rng.choices(pool, cum_weights=cumulative)[0]
            if _entity(pick) not in used:
                return pick
        free = [i for i, p in enumerate(pool) if _entity(p) not in used]
        if not free:
            return None
        weights = [cumulative[i] - (cumulative[i - 1] if i else 0.0) for i in free]
        return pool[rng.choices(free, weights=weights)[0]]


def _stream(
    bases: list[TaskPrompt], sampler: _Sampler, target: str, also: str | None, rng: random.Random
) -> Iterator[tuple[TaskPrompt, TaskPrompt]]:
    """Distinct (base, source) pairs: passes over the shuffled bases, each drawing for every
    base one source it has not had yet, until no base has a new one."""
    order = list(bases)
    rng.shuffle(order)
    used: list[set[str]] = [set() for _ in order]
    live = list(range(len(order)))
    while live:
        still = []
        for i in live:
            source = sampler.source(order[i], target, also, rng, used[i])
            if source is not None:
                used[i].add(_entity(source))
                still.append(i)
                yield order[i], source
        live = still


def _pairs_for(
    kept: list[TaskPrompt],
    sampler: _Sampler,
    target: str,
    split: str,
    attributes: Sequence[str],
    n_pairs: int,
    seed: int,
) -> list[RavelPair]:
    out = []
    cause = [p for p in kept if p.asks == target]
    rng = random.Random(f"ravel|{seed}|{target}|{split}|cause")
    for base, source in _take(_stream(cause, sampler, target, None, rng), n_pairs):
        out.append(RavelPair(base, source, target, target, "cause", source.answer, split))
    streams = []
    for other in attributes:
        if other == target:
            continue
        bases = [p for p in kept if p.asks == other and target in p.attributes]
        rng = random.Random(f"ravel|{seed}|{target}|{split}|isolation|{other}")
        streams.append(_stream(bases, sampler, target, other, rng))
    for base, source in _take(_round_robin(streams), n_pairs):
        out.append(RavelPair(base, source, target, base.asks, "isolation", base.answer, split))
    return out


def _take(items: Iterator, n: int) -> list:
    out = []
    for item in items:
        if len(out) == n:
            break
        out.append(item)
    return out


def _round_robin(streams: list[Iterator]) -> Iterator:
    live = list(streams)
    while live:
        for stream in list(live):
            item = next(stream, None)
            if item is None:
                live.remove(stream)
            else:
                yield item


def make_pairs(
    answers: Answered,
    *,
    targets: list[str] | None = None,
    n_pairs: int | Mapping[str, int] = 256,
    seed: int = 0,
) -> Instances:
    """At most ``n_pairs`` cause and ``n_pairs`` isolation pairs per (target, split) among
    the prompts of ``answers`` (``targets`` default to every attribute asked); ``n_pairs``
    may give a number per split (a split it omits gets none).

    Example:
        >>> instances = make_pairs(answered(task, runner), targets=["country"], seed=1)
        >>> make_pairs(answers, n_pairs={"train": 512, "entity": 64, "context": 64})
    """
    caps = n_pairs if isinstance(n_pairs, Mapping) else dict.fromkeys(SPLITS, n_pairs)
    if bad := {s: n for s, n in caps.items() if n < 1 or s not in SPLITS}:
        raise SaebenchError(f"n_pairs must be at least 1 per split of {SPLITS}, not {bad}")
    attributes = answers.attributes
    targets = list(attributes if targets is None else targets)
    if unknown := [t for t in targets if t not in attributes]:
        raise SaebenchError(
            f"the task asks no prompt about {', '.join(map(repr, unknown))} "
            f"(targets: {', '.join(attributes)})"
        )
    pairs = []
    for split in SPLITS:
        if split not in caps:
            continue
        kept = answers.kept.get(split, [])
        sampler = _Sampler(kept, SMOOTHING[split])
        for target in targets:
            pairs += _pairs_for(kept, sampler, target, split, attributes, caps[split], seed)
    pairs.sort(key=lambda p: (targets.index(p.target), SPLITS.index(p.split)))
    return Instances(pairs=pairs, survivors=answers.survivors, answer_tokens=answers.answer_tokens)


def build_instances(
    task: Task,
    runner,
    *,
    targets: list[str] | None = None,
    n_pairs: int = 256,
    seed: int = 0,
    answer_tokens: int | None = None,
    batch_size: int = 64,
) -> Instances:
    """Filter ``task``'s prompts by what ``runner``'s model answers (:func:`answered`), then
    build at most ``n_pairs`` cause and ``n_pairs`` isolation pairs per (target, split)
    (:func:`make_pairs`). ``answer_tokens`` defaults to the longest answer in tokens.

    Example:
        >>> inst = build_instances(build_task("zoo-cities"), ModelRunner(model), n_pairs=128)
        >>> len(inst.select(target="country", split="entity", kind="cause"))
    """
    answers = answered(task, runner, answer_tokens=answer_tokens, batch_size=batch_size)
    return make_pairs(answers, targets=targets, n_pairs=n_pairs, seed=seed)
