"""The sparse-probing work: :func:`prepare` once per (site, task, settings), :func:`evaluate`
per SAE.

What does not depend on the SAE (the activations of the task's prompts at the hook, the
probe plan, the raw-activation probes) is made once and shared by every SAE of a run at the
same hook: :func:`prepare` through ``context.once`` (the framework keys it), the raw probes
through ``context.once`` per head read (SAEs of one attention hook may read different heads),
so each SAE gets the numbers it would get alone.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.evaluators import EvalResult, Reference
from saebench.evaluators.sparse_probing.config import (
    SparseProbingConfig,
    SparseProbingMetrics,
    resolve_targets,
)
from saebench.evaluators.sparse_probing.probes import (
    ProbePlan,
    ProbeResult,
    plan_probes,
    run_probes,
    summarise,
)
from saebench.evaluators.sparse_probing.scores import score
from saebench.toolkit.captures import Split, capture_split, encode_rows
from saebench.toolkit.sites import Position


@dataclass(frozen=True)
class Prepared:
    """The SAE-independent part: the targets, both splits and the probe plan."""

    position: str
    attributes: list[str]
    entity: str | None
    train: Split
    test: Split
    plan: ProbePlan


def prepare(cfg: SparseProbingConfig, context) -> Prepared:
    """Capture both splits at the SAE's hook (one row per distinct prompt) and plan the probes."""
    if context.task is None or context.runner is None:
        raise SaebenchError("sparse_probing needs a task and a model runner (run it via plan)")
    _need_sklearn()
    position, attributes, entity = resolve_targets(cfg, context.task)
    captured = [*attributes, *([entity] if entity and entity not in attributes else [])]
    where = Position(position, cfg.token)
    train, test = (
        _split(context, split, where, captured) for split in (cfg.train_split, cfg.test_split)
    )
    values = context.task.attribute_values()
    plan = plan_probes(
        train.labels,
        test.labels,
        {a: values[a] for a in attributes},
        cfg.min_examples,
        cfg.max_examples,
        cfg.max_values,
        cfg.seed,
        groups=(train.labels[entity], test.labels[entity]) if entity else None,
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
    return Prepared(position, attributes, entity, train, test, plan)


def _split(context, split: str, position: Position, attributes: list[str]) -> Split:
    """The split's activations at the hook, one row per distinct (prefix, labels)."""
    prompts = context.task.prompts(split)
    return capture_split(context.runner, prompts, context.sae.meta.hook_name, position, attributes)


def evaluate(cfg: SparseProbingConfig, sae, prepared: Prepared, context) -> EvalResult:
    """The metrics, intervals, nulls and details of one SAE's record, and the raw
    activations' probes beside it as the reference ``raw_activations``."""
    meta, p = sae.meta, prepared
    head = meta.hook_head_index
    train_x, test_x = p.train.read(head), p.test.read(head)
    raw = context.once(
        "raw_probes",
        lambda: _probe_all(p.plan, train_x, test_x, cfg),
        site=meta.hook_name,
        depends_on=head,
    )
    sae_results = _probe_all(p.plan, encode_rows(sae, train_x), encode_rows(sae, test_x), cfg)
    units, unit = _units(p.test, p.entity)
    mine = score(sae_results, p.plan, units, unit, cfg)
    theirs = score(raw, p.plan, units, unit, cfg)
    details = _details(cfg, p, meta, sae_results)
    reference = Reference(
        method="raw_activations",
        hook_name=meta.hook_name,
        metrics=theirs.metrics,
        intervals=theirs.intervals,
        details={"probes": [_result_dict(r) for r in raw], "entity": p.entity},
        sample_sizes=mine.sample_sizes,
        size=int(test_x.shape[1]),
    )
    return EvalResult(
        metrics=SparseProbingMetrics(**mine.metrics),
        details=details,
        intervals=mine.intervals,
        nulls=mine.nulls,
        sample_sizes=mine.sample_sizes,
        references=[reference],
    )


def _units(test: Split, entity: str | None) -> tuple[np.ndarray, str]:
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


def _probe_all(plan: ProbePlan, train_x, test_x, cfg) -> list[ProbeResult]:
    return run_probes(
        plan.probes, train_x, test_x, cfg.k, cfg.full_width, cfg.regularization_c, cfg.seed
    )


def _details(cfg, p: Prepared, meta, sae_results) -> dict:
    widths: list[int | str] = [*cfg.k, *(["full"] if cfg.full_width else [])]
    per_attribute = {}
    for attribute in p.attributes:
        mine = [r for r in sae_results if r.attribute == attribute]
        per_attribute[attribute] = {
            "n_values_probed": len(mine),
            "n_values_skipped": sum(s["attribute"] == attribute for s in p.plan.skipped),
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
        for probe, mine in zip(p.plan.probes, sae_results, strict=True)
    ]
    return {
        "hook": meta.hook_name,
        "position": p.position,
        "token": cfg.token,
        "attributes": per_attribute,
        "examples": {
            split: {"prompts": acts.n_prompts, "distinct": len(acts.x)}
            for split, acts in ((cfg.train_split, p.train), (cfg.test_split, p.test))
        },
        "probes": probes,
        "skipped": p.plan.skipped,
        "entity": p.entity,
    }


def _suffix(width: int | str) -> str:
    return f"k{width}" if width != "full" else "full"


def _result_dict(result: ProbeResult) -> dict:
    return {
        "accuracy": {_suffix(k): v for k, v in result.accuracy.items()},
        "auroc": {_suffix(k): v for k, v in result.auroc.items()},
        "selected": {_suffix(k): v for k, v in result.selected.items()},
    }
