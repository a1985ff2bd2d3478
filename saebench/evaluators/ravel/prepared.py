"""The pairs of one run and seed, prepared once per hook and shared by every SAE and reference.

:class:`HookData` holds, for each target attribute, the training pairs (cause and isolation
pairs of the ``train`` split, mixed in a seeded order), the validation pairs (where DAS and
MDAS choose their dimension) and the pairs of each scored split, all as :class:`PairChunk`
objects at one hook, plus the activations of that target's own training prompts at the
patched column (what its probe and PCA are fitted on: a target's numbers never depend on
which other targets were asked for). The ``train`` scores use the first training chunks
(as many pairs as a held-out split), so overfitting shows. Nothing here depends on an SAE,
so :func:`hook_data` keeps it in ``context.shared``.

Example:
    >>> data = hook_data(context.shared, runner, instances, "blocks.1.hook_resid_post",
    ...                  targets=["country"], batch_size=32, seed=0)
    >>> data.targets["country"].evals["entity"]      # chunks of held-out-entity pairs
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from saebench.evaluators.ravel.interventions import PairChunk, column, prepare_pairs
from saebench.models.edits import read_rows
from saebench.models.prompts import make_batch

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


def hook_data(
    shared: dict,
    runner,
    instances,
    hook: str,
    *,
    targets: Sequence[str],
    batch_size: int,
    seed: int,
    meta=None,
    position: str = "entity",
    key: tuple = (),
) -> HookData:
    """The prepared pairs at ``hook``, made once per (``key``, hook, seed), kept in ``shared``."""
    slot = ("ravel-hook-data", key, hook, seed)
    if slot not in shared:
        shared[slot] = build_hook_data(
            runner,
            instances,
            hook,
            targets=targets,
            batch_size=batch_size,
            seed=seed,
            meta=meta,
            position=position,
        )
    return shared[slot]


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
            train_x=entity_acts(runner, hook, prompts, meta, position),
        )
    return HookData(hook, per_target, seed)


def _distinct_prompts(pairs) -> list:
    seen: dict[str, object] = {}
    for pair in pairs:
        for prompt in (pair.base, pair.source):
            seen.setdefault(prompt.text, prompt)
    return [seen[text] for text in sorted(seen)]  # sorted: independent of pair order


@torch.no_grad()
def entity_acts(
    runner, hook: str, prompts: Sequence, meta=None, position: str = "entity", batch_size: int = 256
):
    """Activations ``[n, d]`` at each prompt's patched column (None without prompts)."""
    rows = []
    for start in range(0, len(prompts), batch_size):
        batch = make_batch(runner.model, list(prompts[start : start + batch_size]))
        acts = runner.capture(batch, [hook])[hook]
        index = torch.arange(len(batch), device=acts.device)
        rows.append(read_rows(acts, index, column(batch, position), meta))
    return torch.cat(rows) if rows else None
