"""The sparse-probing run for one SAE: capture (shared), raw probes (shared), SAE probes.

What does not depend on the SAE (the activations of the task's prompts at the hook, the
probe plan, the raw-activation probes) is computed once per (hook, task, position,
settings) and kept in ``context.shared``, so every SAE of a run at the same hook reuses it
and gets the numbers it would get alone.
"""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING

import numpy as np

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.evaluators import EvalResult, Reference
from saebench.evaluators.sparse_probing.capture import SplitActivations, capture_split
from saebench.evaluators.sparse_probing.probes import (
    ProbePlan,
    ProbeResult,
    plan_probes,
    run_probes,
    summarise,
)
from saebench.evaluators.sparse_probing.scores import score

if TYPE_CHECKING:
    from saebench.evaluators.sparse_probing import SparseProbingEvaluator

_ENCODE_ROWS = 4096  # rows per SAE encode call (memory only: codes are per row)


def probe_sae(
    evaluator: SparseProbingEvaluator, position: str, attributes: list[str], entity: str | None
) -> EvalResult:
    """The metrics, intervals, nulls and details of one SAE's record, and the raw
    activations' probes beside it as the reference ``raw_activations``."""
    _need_sklearn()
    cfg, context = evaluator.config, evaluator.context
    sae, meta = context.sae, context.sae.meta
    where = (meta.hook_name, meta.hook_head_index, _task_id(context.task), position, cfg.token)
    captured = [*attributes, *([entity] if entity and entity not in attributes else [])]
    train, test = (
        _activations(context, where, split, captured) for split in (cfg.train_split, cfg.test_split)
    )
    plan, raw = _raw_probes(context, cfg, where, train, test, attributes, entity)
    sae_results = _probe_all(plan, _encode(sae, train.x), _encode(sae, test.x), cfg)
    units, unit = _units(test, entity)
    mine = score(sae_results, plan, units, unit, cfg)
    theirs = score(raw, plan, units, unit, cfg)
    details = _details(cfg, position, attributes, meta, train, test, plan, sae_results)
    details["entity"] = entity
    reference = Reference(
        method="raw_activations",
        hook_name=meta.hook_name,
        metrics=theirs.metrics,
        intervals=theirs.intervals,
        details={"probes": [_result_dict(r) for r in raw], "entity": entity},
        sample_sizes=mine.sample_sizes,
        size=int(test.x.shape[1]),
    )
    return EvalResult(
        metrics=evaluator.Metrics(**mine.metrics),
        details=details,
        intervals=mine.intervals,
        nulls=mine.nulls,
        sample_sizes=mine.sample_sizes,
        references=[reference],
    )


def _raw_probes(context, cfg, where, train, test, attributes, entity) -> tuple[ProbePlan, list]:
    """The probe plan and the raw-activation probes, made once per hook, task and settings."""
    settings = cfg.model_dump(exclude={"task", "task_config", "position", "token"})
    key = ("sparse_probing/raw", *where, entity, json.dumps(settings, sort_keys=True))
    if key not in context.shared:
        values = context.task.attribute_values()
        groups = (train.labels[entity], test.labels[entity]) if entity else None
        plan = plan_probes(
            train.labels,
            test.labels,
            {a: values[a] for a in attributes},
            cfg.min_examples,
            cfg.max_examples,
            cfg.max_values,
            cfg.seed,
            groups=groups,
            min_test_rows=cfg.min_test_rows,
        )
        if not plan.probes:
            warnings.warn(
                f"sparse_probing: no value of {', '.join(attributes)} on task "
                f"{context.task.name!r} has {cfg.min_examples} examples per class in both "
                "splits; lower min_examples or give the task more prompts (task_config)",
                SaebenchWarning,
                stacklevel=3,
            )
        context.shared[key] = (plan, _probe_all(plan, train.x, test.x, cfg))
    return context.shared[key]


def _units(test: SplitActivations, entity: str | None) -> tuple[np.ndarray, str]:
    """Each test row's sampling unit (its entity's index, or the row itself) and its name."""
    if entity is None:
        return np.arange(len(test.x)), "test_rows"
    _, index = np.unique(test.labels[entity].astype(str), return_inverse=True)
    return index, "entities"


def _need_sklearn() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise SaebenchError(
            "sparse_probing fits its probes with scikit-learn, which is not installed; "
            "pip install scikit-learn"
        ) from exc


def _task_id(task) -> tuple[str, str, str]:
    """Name, version and config: the planner has checked that these give the planned data."""
    return task.name, task.version, json.dumps(task.config.model_dump(mode="json"), sort_keys=True)


def _activations(context, where, split: str, attributes: list[str]) -> SplitActivations:
    key = ("sparse_probing/acts", *where, split, tuple(attributes))
    if key not in context.shared:
        meta = context.sae.meta
        context.shared[key] = capture_split(
            context.runner,
            context.model,
            context.task,
            split,
            meta,
            where[3],
            where[4],
            attributes,
        )
    return context.shared[key]


def _encode(sae, x: np.ndarray) -> np.ndarray:
    """The SAE's codes of rows ``x`` (float32 on the CPU)."""
    import torch

    device = sae.W_dec.device
    parts = []
    with torch.no_grad():
        for start in range(0, len(x), _ENCODE_ROWS):
            rows = torch.from_numpy(x[start : start + _ENCODE_ROWS]).to(device)
            parts.append(sae.encode(rows).float().cpu())
    return torch.cat(parts).numpy()


def _probe_all(plan: ProbePlan, train_x, test_x, cfg) -> list[ProbeResult]:
    return run_probes(
        plan.probes, train_x, test_x, cfg.k, cfg.full_width, cfg.regularization_c, cfg.seed
    )


def _details(cfg, position, attributes, meta, train, test, plan, sae_results):
    widths: list[int | str] = [*cfg.k, *(["full"] if cfg.full_width else [])]
    per_attribute = {}
    for attribute in attributes:
        mine = [r for r in sae_results if r.attribute == attribute]
        per_attribute[attribute] = {
            "n_values_probed": len(mine),
            "n_values_skipped": sum(s["attribute"] == attribute for s in plan.skipped),
            **{
                f"sae_{score}_{_suffix(w)}": summarise(mine, w, score)
                for w in widths
                for score in ("accuracy", "auroc")
            },
        }
    probes = [
        {
            "attribute": probe.attribute,
            "value": probe.value,
            "n_train": len(probe.train_rows),
            "n_test": len(probe.test_rows),
            "sae": _result_dict(mine),
        }
        for probe, mine in zip(plan.probes, sae_results, strict=True)
    ]
    return {
        "hook": meta.hook_name,
        "position": position,
        "token": cfg.token,
        "attributes": per_attribute,
        "examples": {
            split: {"prompts": acts.n_prompts, "distinct": len(acts.x)}
            for split, acts in ((cfg.train_split, train), (cfg.test_split, test))
        },
        "probes": probes,
        "skipped": plan.skipped,
    }


def _suffix(width: int | str) -> str:
    return f"k{width}" if width != "full" else "full"


def _result_dict(result: ProbeResult) -> dict:
    return {
        "accuracy": {_suffix(k): v for k, v in result.accuracy.items()},
        "auroc": {_suffix(k): v for k, v in result.auroc.items()},
        "selected": {_suffix(k): v for k, v in result.selected.items()},
    }
