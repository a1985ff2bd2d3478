"""Run one group of a plan: a plain function of its :class:`~saebench.planning.GroupSpec`.

It loads (or reuses) the group's model and SAEs, skips the records that already exist,
streams one shared activation pass for every pending (SAE, evaluator) pair, lets each
evaluator finish (those that intervene in the model do their work there), and writes one
record per pair. The local and the Ray executor both call it, so they give the same records.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.planning import EvaluatorSpec, GroupSpec
from saebench.records import EvalRecord, EvaluatorInfo, SaeInfo, find_record, write_record
from saebench.resources import Resources, SaeSpec

# The automatic batch size. On CPU the widest per-batch tensor (MLP hidden units, attention
# scores, SAE codes) is kept about cache-sized: small batches measured fastest there
# (benchmarks/core_throughput.py); logits never count, as they are made a few rows at a time.
# On a GPU, all of a batch's tensors share a larger budget.
_CPU_WIDEST_BYTES = 4 * 2**20
_GPU_BUDGET = 3 * 2**30
_MAX_BATCH = 64


@dataclass
class _Job:
    """One (SAE, evaluator) pair of the group."""

    sae_spec: SaeSpec
    sae: Any
    spec: EvaluatorSpec
    key: str
    record: EvalRecord | None = None
    evaluator: Any = None
    result: Any = None
    timing: dict[str, float] = field(default_factory=dict)


def run_group(
    spec: GroupSpec,
    out_dir: str | Path | None = None,
    *,
    resume: bool = True,
    resources: Resources | None = None,
) -> list[EvalRecord]:
    """Records of every (SAE, evaluator) pair of the group, in the spec's order.

    Example:
        >>> records = run_group(plan("zoo:resid-topk-16", model="zoo", dataset="zoo")[0])
    """
    resources = resources or Resources()
    device = spec.settings.device
    model = resources.model(spec.model, device)
    dtype = _dtype(spec.sae_dtype)
    jobs = [
        _Job(
            sae_spec,
            resources.sae(sae_spec, device, dtype),
            evaluator,
            spec.key(sae_spec, evaluator),
        )
        for sae_spec in spec.saes
        for evaluator in spec.evaluators
    ]
    out = Path(out_dir) if out_dir is not None else None
    for job in jobs:
        job.record = find_record(out, job.key) if resume else None
    pending = [job for job in jobs if job.record is None]
    if pending:
        _evaluate(pending, model, spec)
        for job in pending:
            job.record = _record(job, spec)
            if out is not None:
                write_record(out, job.record)
    return [job.record for job in jobs]


def _evaluate(jobs: list[_Job], model, spec: GroupSpec) -> None:
    from saebench.activations.shared_pass import SaeSlot, SharedPass
    from saebench.evaluators.base import EvalContext
    from saebench.models.interventions import ModelRunner
    from saebench.planning import parse_config
    from saebench.registry import evaluators

    device = spec.settings.device
    token_set = _token_set(spec, model, jobs) if any(job.spec.streams for job in jobs) else None
    runner = ModelRunner(model)
    llm = _llm_client(spec) if any(job.spec.llm_model for job in jobs) else None
    shared: dict = {}
    tasks: dict = {}  # built once per group, by identity
    slots: dict[int, SaeSlot] = {}
    for job in jobs:
        cls = evaluators.get(job.spec.name)
        config = parse_config(cls, job.spec.config)
        context = EvalContext(
            sae=job.sae,
            model=model,
            runner=runner,
            token_set=token_set,
            task=_task(job.spec, tasks),
            device=device,
            llm=llm if job.spec.llm_model else None,
            shared=shared,
        )
        job.evaluator = cls(config, context)
        slot = slots.setdefault(id(job.sae), SaeSlot(job.sae, [], []))
        slot.evaluators.append(job.evaluator)
        slot.needs.append(cls.needs_for(config))
    started = time.perf_counter()
    if token_set is not None:
        slot_list = list(slots.values())
        size = spec.settings.batch_size or auto_batch_size(model, slot_list, token_set, device)
        SharedPass(
            model,
            token_set,
            slot_list,
            size,
            device,
            spec.settings.cache_dir,
            spec.settings.progress,
            identity={
                "model": spec.model.model_dump(exclude={"location"}),
                "tokens": spec.tokens.model_dump(exclude={"name", "source"}),
            },
        ).run()
    shared_seconds = (time.perf_counter() - started) / len(jobs)
    for job in jobs:
        began = time.perf_counter()
        job.result = job.evaluator.finish()
        job.timing = {
            "shared_pass_seconds": shared_seconds,
            "finish_seconds": time.perf_counter() - began,
        }


def _llm_client(spec: GroupSpec):
    """One client (one response cache, one concurrency limit) for the group's judge."""
    from saebench.llm.client import LlmClient

    if spec.settings.llm is None:
        raise SaebenchError("the plan names no LLM judge for its LLM evaluators; plan it again")
    return LlmClient(spec.settings.llm)


def _task(spec: EvaluatorSpec, built: dict):
    """The evaluator's task, built once per group; its data must be what was planned."""
    if spec.task is None:
        return None
    from saebench.tasks import build_task

    info = spec.task
    key = (info.name, info.fingerprint)
    if key not in built:
        task = build_task(info.name, info.config)
        if task.spec() != info:
            raise SaebenchError(
                f"task {info.name!r} gives other prompts than when the run was planned "
                "(its data or version changed); plan the run again"
            )
        built[key] = task
    return built[key]


def _token_set(spec: GroupSpec, model, jobs: list[_Job]):
    from saebench.data.contexts import bos_check, make_token_set
    from saebench.data.sources import open_source

    tokens = spec.tokens
    tokenizer = getattr(model, "tokenizer", None)
    token_set = make_token_set(
        open_source(tokens.source),
        tokenizer=tokenizer,
        context_size=tokens.context_size,
        n_tokens=tokens.n_tokens,
        prepend_bos=tokens.prepend_bos,
        separator=tokens.separator,
        special_ids=tuple(tokens.special_ids),
        vocab_size=model.cfg.d_vocab,
    )
    if tokens.kind == "tokens" and tokenizer is not None:
        # token ids are used as given; say so when they disagree with an SAE's training
        for sae_spec, sae in {id(job.sae): (job.sae_spec, job.sae) for job in jobs}.values():
            message = bos_check(token_set, tokenizer.bos_token_id, sae.meta.prepend_bos)
            if message:
                warnings.warn(f"{sae_spec.name}: {message}", SaebenchWarning, stacklevel=2)
    return token_set


def auto_batch_size(model, slots, token_set, device: str) -> int:
    """Contexts per batch: on CPU so that the widest per-batch tensor stays cache-sized, on a
    GPU so that all of a batch's tensors fit a budget. Never changes a number."""
    cfg, ctx = model.cfg, token_set.context_size
    if not str(device).startswith("cuda"):
        widest = max(cfg.d_mlp or 0, cfg.d_model, cfg.n_heads * ctx, *(s.sae.d_sae for s in slots))
        return int(max(1, min(_MAX_BATCH, _CPU_WIDEST_BYTES // (4 * ctx * widest))))
    per_token = sum(4 * (s.sae.d_sae + 3 * s.sae.d_out) for s in slots)
    if any(s.downstream for s in slots):
        per_token += 4 * cfg.d_model * (2 + len(slots))  # final residuals of every run
    return int(max(1, min(_MAX_BATCH, _GPU_BUDGET // max(per_token * ctx, 1))))


def _record(job: _Job, spec: GroupSpec) -> EvalRecord:
    from saebench.records import provenance
    from saebench.registry import evaluators

    cls = evaluators.get(job.spec.name)
    meta = job.sae.meta
    return EvalRecord(
        key=job.key,
        evaluator=EvaluatorInfo(
            name=job.spec.name,
            version=job.spec.version,
            config=job.spec.config,
            config_hash=job.spec.config_hash,
            main_metric=cls.main_metric,
            higher_is_better=cls.directions(),
            headline=list(cls.headline or (cls.main_metric,)),
            llm_model=job.spec.llm_model,
            references=dict(cls.references),
        ),
        sae=SaeInfo(
            uri=job.sae_spec.uri,
            name=job.sae_spec.name,
            architecture=meta.architecture,
            hook_name=meta.hook_name,
            d_in=meta.d_in,
            d_sae=meta.d_sae,
            weights_hash=job.sae_spec.weights_hash,
            metadata=meta.model_dump(mode="json"),
        ),
        model=spec.model.model_dump(exclude={"location"}),
        dataset=spec.dataset_for(job.spec),
        task=job.spec.task,
        metrics=_finite(job.result.metrics.model_dump()),
        details=job.result.details,
        seeds=job.result.seeds,
        provenance=provenance(spec.settings.device),
        timing=job.timing,
    )


def _finite(metrics: dict[str, Any]) -> dict[str, float | None]:
    return {
        key: None if value is None or not math.isfinite(float(value)) else float(value)
        for key, value in metrics.items()
    }


def _dtype(name: str | None):
    from saebench.models.load import parse_dtype

    return parse_dtype(name)
