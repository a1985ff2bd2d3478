"""What every SAE at one hook shares, prepared once: per seed, the pairs and the references.

:class:`HookData` holds, for each target attribute, the training pairs (cause and isolation
pairs of the ``train`` split, mixed in a seeded order), the validation pairs (where DAS and
MDAS choose their dimension) and the pairs of each scored split, all as :class:`PairChunk`
objects at one hook, plus the activations of that target's own training prompts at the
patched column (what its probe and PCA are fitted on: a target's numbers never depend on
which other targets were asked for). The ``train`` scores use the first training chunks
(as many pairs as a held-out split), so overfitting shows. :class:`Prepared` is what
``RavelEvaluator.prepare`` returns: one :class:`SeedData` per seed (its pairs, their
:class:`HookData` and the references' results) and the CPU seconds the shared work took.
Nothing here depends on an SAE.

Example:
    >>> data = build_hook_data(runner, instances, "blocks.1.hook_resid_post",
    ...                        targets=["country"], batch_size=32, seed=0)
    >>> data.targets["country"].evals["entity"]      # chunks of held-out-entity pairs
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import Tensor

from saebench.evaluators.ravel.interventions import PairChunk, prepare_pairs, site_position
from saebench.toolkit.sites import activations_at

TRAIN = "train"
VAL = "val"
EVAL_SPLITS = ("entity", "context")  # the held-out splits
SCORED_SPLITS = (TRAIN, *EVAL_SPLITS)  # every split a method is scored on


@dataclass
class TargetData:
    train: list[PairChunk]
    evals: dict[str, list[PairChunk]]  # split -> chunks (train: the first training chunks)
    val: list[PairChunk] = field(default_factory=list)
    train_prompts: list = field(default_factory=list)  # distinct prompts of the train pairs
    train_x: Tensor | None = None  # [n, d] their activations at the patched column


@dataclass
class HookData:
    hook: str
    targets: dict[str, TargetData]
    seed: int = 0

    def pair_counts(self) -> dict[str, int]:
        """Pairs per split over every target: those trained on (``train``), the validation
        pairs (``val``) and those scored (``train_scored``, ``entity``, ``context``)."""
        counts = {TRAIN: 0, VAL: 0, "train_scored": 0, **dict.fromkeys(EVAL_SPLITS, 0)}
        for data in self.targets.values():
            counts[TRAIN] += sum(len(c.pairs) for c in data.train)
            counts[VAL] += sum(len(c.pairs) for c in data.val)
            for split, chunks in data.evals.items():
                name = "train_scored" if split == TRAIN else split
                counts[name] += sum(len(c.pairs) for c in chunks)
        return counts

    @property
    def d(self) -> int | None:
        """The hook's width, from the training activations."""
        for data in self.targets.values():
            if data.train_x is not None:
                return int(data.train_x.shape[1])
        return None


def build_hook_data(
    runner,
    instances,
    hook: str,
    *,
    targets: Sequence[str],
    batch_size: int,
    seed: int,
    meta=None,
    position: str = "entity",
) -> HookData:
    """Chunks of every target's training, validation and scored pairs at ``hook``."""
    per_target = {}
    for target in targets:

        def chunks(pairs):
            return prepare_pairs(runner, hook, pairs, batch_size, meta, position)

        train = list(instances.select(target=target, split=TRAIN))
        random.Random(f"ravel-train|{seed}|{target}").shuffle(train)  # kinds mixed per chunk
        evals = {
            split: chunks(instances.select(target=target, split=split)) for split in EVAL_SPLITS
        }
        train_chunks = chunks(train)
        held_out = max((sum(len(c.pairs) for c in evals[s]) for s in EVAL_SPLITS), default=0)
        evals[TRAIN] = train_chunks[: math.ceil(held_out / batch_size)]
        prompts = _distinct_prompts(train)
        per_target[target] = TargetData(
            train=train_chunks,
            evals=evals,
            val=chunks(instances.select(target=target, split=VAL)),
            train_prompts=prompts,
            train_x=_activations(runner, hook, prompts, meta, position),
        )
    return HookData(hook, per_target, seed)


def _distinct_prompts(pairs) -> list:
    seen: dict[str, object] = {}
    for pair in pairs:
        for prompt in (pair.base, pair.source):
            seen.setdefault(prompt.text, prompt)
    return [seen[text] for text in sorted(seen)]  # sorted: independent of pair order


def _activations(runner, hook: str, prompts: Sequence, meta, position: str) -> Tensor | None:
    """Activations ``[n, d]`` at each prompt's patched column (None without prompts)."""
    if not prompts:
        return None
    return activations_at(runner, prompts, hook, site_position(position), meta)


@dataclass
class SeedData:
    """One seed's share: its pairs, the targets asked, the pairs at the hook, and each
    reference's result with the CPU seconds it took."""

    seed: int
    instances: object  # ravel.instances.Instances
    targets: list[str]
    data: HookData
    references: dict[str, tuple[object, float]] = field(default_factory=dict)


@dataclass
class Prepared:
    """What ``prepare`` returns for one hook: every seed's share and the answers' seconds."""

    hook: str
    seeds: list[SeedData]
    answers_seconds: float = 0.0

    def reference_seconds(self) -> dict[str, float]:
        """CPU seconds of each reference, summed over seeds."""
        out: dict[str, float] = {}
        for one in self.seeds:
            for name, (_, seconds) in one.references.items():
                out[name] = round(out.get(name, 0.0) + seconds, 3)
        return out
