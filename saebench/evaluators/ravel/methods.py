"""One method's scores on the prepared pairs: choose coordinates per target, intervene on
every held-out split, score.

* :func:`run_mdbm`: a mask learned per target attribute and seed (the SAE, neurons, PCA);
* :func:`run_probe`: the probe selection per target (the SAE);
* :func:`run_das`: a rotation learned per target and seed (the skyline).

Each returns a :class:`MethodResult`: ``scores[target][split]`` (cause, isolation,
disentanglement and pair counts, averaged over seeds), per-seed scores, and how many
coordinates were swapped. Every seed is a string made from the run's seed, the method, the
hook and the target, never from the order SAEs run in.

Example:
    >>> result = run_mdbm(runner, sae, data, settings, method="sae")
    >>> result.scores["country"]["entity"]["disentanglement"]
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from saebench.evaluators.ravel.featurizers import DasFeaturizer
from saebench.evaluators.ravel.interventions import intervene
from saebench.evaluators.ravel.prepared import EVAL_SPLITS, HookData
from saebench.evaluators.ravel.scores import mean_over_seeds, score_pairs
from saebench.evaluators.ravel.selection import MaskSchedule, probe_select, train_das, train_mask


@dataclass(frozen=True)
class RunSettings:
    """What a method needs beyond the data."""

    schedule: MaskSchedule
    das_schedule: MaskSchedule
    seeds: tuple[int, ...] = (0,)
    n_tokens: int = 1
    das_dim: int = 16
    probe_c: float = 0.1
    probe_max_latents: int = 64


@dataclass
class MethodResult:
    scores: dict[str, dict[str, dict]] = field(default_factory=dict)  # target -> split -> ...
    per_seed: dict[str, dict[str, list[dict]]] = field(default_factory=dict)
    selected: dict[str, list[int]] = field(default_factory=dict)  # target -> count per seed
    train_seconds: float = 0.0  # CPU seconds choosing the coordinates (mask, probe, rotation)
    eval_seconds: float = 0.0  # CPU seconds of the held-out interventions
    evaluated_pairs: int = 0  # pairs x interventions scored

    def timing(self) -> dict:
        rate = self.evaluated_pairs / self.eval_seconds if self.eval_seconds > 0 else None
        return {
            "train_cpu_seconds": round(self.train_seconds, 3),
            "eval_cpu_seconds": round(self.eval_seconds, 3),
            "evaluated_pairs": self.evaluated_pairs,
            "pairs_per_cpu_second": None if rate is None else round(rate, 1),
        }


def seed_name(seed: int, method: str, hook: str, target: str) -> str:
    """The seed of one training, from the parts of its key."""
    return f"{seed}|{method}|{hook}|{target}"


def seed_int(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def score_masks(
    runner,
    featurizer,
    data: HookData,
    target: str,
    masks: Sequence,
    settings: RunSettings,
    keep_error: bool = False,
    result: MethodResult | None = None,
) -> list[dict[str, dict]]:
    """Scores per split of each mask on ``target``'s held-out pairs (one batched call);
    the time it took is added to ``result``."""
    began = time.process_time()
    out: list[dict[str, dict]] = [{} for _ in masks]
    device = runner.model.cfg.device
    interventions = [(featurizer, m.to(device)) for m in masks]
    for split in EVAL_SPLITS:
        chunks = data.targets[target].evals.get(split, [])
        ok = intervene(runner, chunks, interventions, settings.n_tokens, keep_error)
        kinds = [p.kind for c in chunks for p in c.pairs]
        for i in range(len(masks)):
            out[i][split] = score_pairs(zip(kinds, ok[i].tolist(), strict=True))
        if result is not None:
            result.evaluated_pairs += len(kinds) * len(masks)
    if result is not None:
        result.eval_seconds += time.process_time() - began
    return out


def run_mdbm(runner, featurizer, data: HookData, settings: RunSettings, method: str):
    """Masks learned on each target's training pairs, one per seed."""
    result = MethodResult()
    for target, target_data in data.targets.items():
        began = time.process_time()
        masks = [
            train_mask(
                runner,
                featurizer,
                target_data.train,
                settings.schedule,
                seed_name(seed, method, data.hook, target),
            )
            for seed in settings.seeds
        ]
        result.train_seconds += time.process_time() - began
        runs = score_masks(
            runner, featurizer, data, target, masks, settings, settings.schedule.keep_error, result
        )
        _collect(result, target, runs, [int(m.sum()) for m in masks])
    return result


def run_probe(runner, featurizer, data: HookData, settings: RunSettings):
    """Latents chosen by an L1 probe of each target's value on the training prompts."""
    result = MethodResult()
    codes = None
    if data.train_x is not None:
        with torch.no_grad():
            codes = featurizer.encode(data.train_x)
    for target in data.targets:
        began = time.process_time()
        if codes is None:
            mask = torch.zeros(featurizer.d_sae, dtype=torch.bool)
        else:
            labels = [p.attributes[target] for p in data.train_prompts]
            mask = probe_select(
                codes,
                labels,
                c=settings.probe_c,
                max_latents=settings.probe_max_latents,
                seed=seed_int(seed_name(settings.seeds[0], "probe", data.hook, target)),
            )
        result.train_seconds += time.process_time() - began
        runs = score_masks(
            runner, featurizer, data, target, [mask], settings, settings.schedule.keep_error, result
        )
        _collect(result, target, runs, [int(mask.sum())])
    return result


def run_das(runner, meta, d: int, data: HookData, settings: RunSettings):
    """A ``das_dim``-dimensional rotation learned per target and seed."""
    result = MethodResult()
    k = min(settings.das_dim, d)
    for target, target_data in data.targets.items():
        runs = []
        for seed in settings.seeds:
            name = seed_name(seed, "das", data.hook, target)
            das = DasFeaturizer(meta, d, k, torch.Generator().manual_seed(seed_int(name)))
            das.to(runner.model.cfg.device)
            began = time.process_time()
            train_das(runner, das, target_data.train, settings.das_schedule, name)
            result.train_seconds += time.process_time() - began
            runs += score_masks(
                runner, das, data, target, [das.swap_weights()], settings, result=result
            )
        _collect(result, target, runs, [k] * len(runs))
    return result


def _collect(result: MethodResult, target: str, runs: list[dict[str, dict]], selected):
    result.per_seed[target] = {s: [run[s] for run in runs] for s in EVAL_SPLITS}
    result.scores[target] = {s: mean_over_seeds(result.per_seed[target][s]) for s in EVAL_SPLITS}
    result.selected[target] = list(selected)
