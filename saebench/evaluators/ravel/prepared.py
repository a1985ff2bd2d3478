"""The pairs of one run, prepared once per hook and shared by every SAE and reference.

:class:`HookData` holds, for each target attribute, the training pairs (cause and isolation
pairs of the ``train`` split, mixed in a seeded order) and the evaluation pairs of each
held-out split, all as :class:`PairChunk` objects at one hook, plus the entity-token
activations of the training prompts (what the probe and PCA are fitted on). Nothing here
depends on an SAE, so :func:`hook_data` keeps it in ``context.shared``.

Example:
    >>> data = hook_data(context.shared, runner, instances, "blocks.1.hook_resid_post",
    ...                  targets=["country"], batch_size=32, seed=0)
    >>> data.targets["country"].evals["entity"]      # chunks of held-out-entity pairs
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from saebench.evaluators.ravel.interventions import PairChunk, column, prepare_pairs
from saebench.models.edits import read_rows
from saebench.models.prompts import make_batch

TRAIN = "train"
EVAL_SPLITS = ("entity", "context")


@dataclass
class TargetData:
    train: list[PairChunk]
    evals: dict[str, list[PairChunk]]  # split -> chunks


@dataclass
class HookData:
    hook: str
    targets: dict[str, TargetData]
    train_prompts: list = field(default_factory=list)  # distinct prompts of the train pairs
    train_x: Tensor | None = None  # [n, d] their activations at the entity token

    def pair_counts(self) -> dict[str, int]:
        """Pairs per split over every target (train, entity, context)."""
        counts = {TRAIN: 0, **dict.fromkeys(EVAL_SPLITS, 0)}
        for data in self.targets.values():
            counts[TRAIN] += sum(len(c.pairs) for c in data.train)
            for split, chunks in data.evals.items():
                counts[split] += sum(len(c.pairs) for c in chunks)
        return counts


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
    """The prepared pairs at ``hook``, made once per (``key``, hook) and kept in ``shared``."""
    slot = ("ravel-hook-data", key, hook)
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
    """Chunks of every target's training and evaluation pairs at ``hook``."""
    per_target = {}
    for target in targets:
        train = list(instances.select(target=target, split=TRAIN))
        random.Random(f"ravel-train|{seed}|{target}").shuffle(train)  # kinds mixed per chunk
        evals = {
            split: prepare_pairs(
                runner,
                hook,
                instances.select(target=target, split=split),
                batch_size,
                meta,
                position,
            )
            for split in EVAL_SPLITS
        }
        train_chunks = prepare_pairs(runner, hook, train, batch_size, meta, position)
        per_target[target] = TargetData(train_chunks, evals)
    prompts = _distinct_prompts(p for t in targets for p in instances.select(target=t, split=TRAIN))
    acts = entity_acts(runner, hook, prompts, meta, position)
    return HookData(hook, per_target, prompts, acts)


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
