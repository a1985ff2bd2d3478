"""One method's scores on one seed's prepared pairs: choose coordinates per target,
intervene on every scored split, score.

* :func:`run_mdbm`: a mask learned per target attribute (the SAE, neurons, PCA);
* :func:`run_probe`: the probe selection per target (the SAE);
* :func:`run_das`: a rotation learned per target, its dimension chosen on the validation
  pairs (DAS on cause pairs, as RAVEL defines it; MDAS on cause and isolation pairs).

Each call adds one :class:`SeedRun` (scores and per-pair outcomes per target and split, the
coordinates swapped, what the training did) to a :class:`MethodResult`, whose ``scores``
average the seeds. Every seed is a string made from the run's seed, the method, the hook and
the target, never from the order SAEs run in.

Example:
    >>> result = MethodResult()
    >>> run_mdbm(runner, lambda target: sae, data, settings, "sae", seed=0, result=result)
    >>> result.scores["country"]["entity"]["disentanglement"]
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from saebench.evaluators.ravel.featurizers import DasFeaturizer
from saebench.evaluators.ravel.interventions import intervene
from saebench.evaluators.ravel.prepared import SCORED_SPLITS, HookData
from saebench.evaluators.ravel.scores import mean_over_seeds, score_pairs
from saebench.evaluators.ravel.selection import (
    DasSchedule,
    MaskSchedule,
    probe_select,
    train_das,
    train_mask,
)


@dataclass(frozen=True)
class RunSettings:
    """What a method needs beyond the data."""

    schedule: MaskSchedule
    das_schedule: DasSchedule = DasSchedule()
    n_tokens: int = 1
    das_dims: tuple[int, ...] = (1, 4, 16)
    probe_c: float = 0.1
    probe_max_latents: int = 64


@dataclass
class SeedRun:
    """One seed of one method: per target, scores and outcomes per split, the coordinates
    swapped, and what its training did (DAS: the dimensions tried and the one chosen)."""

    scores: dict[str, dict[str, dict]] = field(default_factory=dict)
    outcomes: dict[str, dict[str, list[tuple[str, bool]]]] = field(default_factory=dict)
    selected: dict[str, int] = field(default_factory=dict)
    info: dict[str, dict] = field(default_factory=dict)


@dataclass
class MethodResult:
    runs: list[SeedRun] = field(default_factory=list)  # one per seed, in seed order
    train_seconds: float = 0.0  # CPU seconds choosing the coordinates (mask, probe, rotation)
    eval_seconds: float = 0.0  # CPU seconds of the scored interventions
    evaluated_pairs: int = 0  # pairs x interventions scored
    size: int = 0  # coordinates of the dictionary (a basis); 0: the swapped count (DAS)

    @property
    def scores(self) -> dict[str, dict[str, dict]]:
        """``[target][split]`` scores averaged over seeds."""
        if not self.runs:
            return {}
        return {
            target: {
                split: mean_over_seeds([run.scores[target][split] for run in self.runs])
                for split in per_split
            }
            for target, per_split in self.runs[0].scores.items()
        }

    @property
    def per_seed(self) -> dict[str, dict[str, list[dict]]]:
        if not self.runs:
            return {}
        return {
            target: {split: [run.scores[target][split] for run in self.runs] for split in splits}
            for target, splits in self.runs[0].scores.items()
        }

    @property
    def selected(self) -> dict[str, list[int]]:
        """Coordinates swapped per target, one count per seed."""
        if not self.runs:
            return {}
        return {t: [run.selected[t] for run in self.runs] for t in self.runs[0].selected}

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
    chunks_by_split: dict[str, list],
    masks: Sequence,
    settings: RunSettings,
    keep_error: bool = False,
    result: MethodResult | None = None,
) -> list[tuple[dict[str, dict], dict[str, list]]]:
    """Scores and outcomes per split of each mask (one batched call per chunk); the time it
    took is added to ``result``."""
    began = time.process_time()
    out: list[tuple[dict[str, dict], dict[str, list]]] = [({}, {}) for _ in masks]
    device = runner.model.cfg.device
    interventions = [(featurizer, m.to(device)) for m in masks]
    for split, chunks in chunks_by_split.items():
        ok = intervene(runner, chunks, interventions, settings.n_tokens, keep_error)
        kinds = [p.kind for c in chunks for p in c.pairs]
        for i in range(len(masks)):
            outcomes = list(zip(kinds, ok[i].tolist(), strict=True))
            out[i][0][split] = score_pairs(outcomes)
            out[i][1][split] = outcomes
        if result is not None:
            result.evaluated_pairs += len(kinds) * len(masks)
    if result is not None:
        result.eval_seconds += time.process_time() - began
    return out


def _scored(data: HookData, target: str) -> dict[str, list]:
    evals = data.targets[target].evals
    return {split: evals.get(split, []) for split in SCORED_SPLITS}


def run_mdbm(
    runner,
    featurizer_for: Callable[[str], object],
    data: HookData,
    settings: RunSettings,
    method: str,
    *,
    seed: int,
    result: MethodResult,
    null: MethodResult | None = None,
) -> None:
    """A mask learned on each target's training pairs (``featurizer_for(target)``); with
    ``null``, the empty mask is scored beside it on the same pairs (the SAE's null)."""
    run, null_run = SeedRun(), SeedRun()
    for target, target_data in data.targets.items():
        featurizer = featurizer_for(target)
        began = time.process_time()
        name = seed_name(seed, method, data.hook, target)
        mask = train_mask(runner, featurizer, target_data.train, settings.schedule, name)
        result.train_seconds += time.process_time() - began
        masks = [mask] if null is None else [mask, torch.zeros_like(mask)]
        keep = settings.schedule.keep_error
        scored = score_masks(
            runner, featurizer, _scored(data, target), masks, settings, keep, result
        )
        _add(run, target, scored[0], int(mask.sum()))
        if null is not None:
            _add(null_run, target, scored[1], 0)
    result.runs.append(run)
    if null is not None:
        null.runs.append(null_run)


def run_probe(
    runner, featurizer, data: HookData, settings: RunSettings, *, seed: int, result: MethodResult
) -> None:
    """Latents chosen by an L1 probe of each target's value on that target's own training
    prompts."""
    run = SeedRun()
    for target, target_data in data.targets.items():
        began = time.process_time()
        if target_data.train_x is None:
            mask = torch.zeros(featurizer.d_sae, dtype=torch.bool)
        else:
            with torch.no_grad():
                codes = featurizer.encode(target_data.train_x)
            labels = [p.attributes[target] for p in target_data.train_prompts]
            mask = probe_select(
                codes,
                labels,
                c=settings.probe_c,
                max_latents=settings.probe_max_latents,
                seed=seed_int(seed_name(seed, "probe", data.hook, target)),
            )
        result.train_seconds += time.process_time() - began
        keep = settings.schedule.keep_error
        scored = score_masks(
            runner, featurizer, _scored(data, target), [mask], settings, keep, result
        )
        _add(run, target, scored[0], int(mask.sum()))
    result.runs.append(run)


def run_das(
    runner,
    meta,
    d: int,
    data: HookData,
    settings: RunSettings,
    *,
    seed: int,
    result: MethodResult,
    method: str = "das",
) -> None:
    """A rotation per target: one per dimension of ``das_dims`` (capped at ``d``), each
    trained to convergence on the training pairs of its kinds (``das``: cause pairs, as RAVEL
    defines it; ``mdas``: cause and isolation pairs); the one with the best validation
    disentanglement (the smallest on ties) is scored."""
    kinds = ("cause",) if method == "das" else ("cause", "isolation")
    dims = sorted({min(k, d) for k in settings.das_dims})
    run = SeedRun()
    for target, target_data in data.targets.items():
        val = target_data.val or target_data.evals.get("train", [])
        tried = {}
        best = None
        for k in dims:
            name = seed_name(seed, f"{method}{k}", data.hook, target)
            das = DasFeaturizer(meta, d, k, torch.Generator().manual_seed(seed_int(name)))
            das.to(runner.model.cfg.device)
            began = time.process_time()
            fit = train_das(runner, das, target_data.train, settings.das_schedule, name, kinds)
            result.train_seconds += time.process_time() - began
            checked = score_masks(runner, das, {"val": val}, [das.swap_weights()], settings)
            score = checked[0][0]["val"]["disentanglement"]
            tried[str(k)] = {**fit, "val_disentanglement": score}  # str: JSON keys
            if best is None or (score or 0.0) > (best[2] or 0.0):
                best = (k, das, score)
        k, das, _ = best
        scored = score_masks(
            runner, das, _scored(data, target), [das.swap_weights()], settings, result=result
        )
        _add(run, target, scored[0], k)
        chosen_on = "val" if target_data.val else "train (no val pairs)"
        run.info[target] = {"dims": tried, "dim": k, "chosen_on": chosen_on, "kinds": list(kinds)}
    result.runs.append(run)


def _add(run: SeedRun, target: str, scored: tuple[dict, dict], selected: int) -> None:
    run.scores[target], run.outcomes[target] = scored
    run.selected[target] = selected
