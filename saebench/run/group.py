"""Run one group of a plan: a plain function of its :class:`~saebench.run.planning.GroupSpec`.

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
from saebench.records import EvalRecord, EvaluatorInfo, SaeInfo, find_record, write_record
from saebench.resources import Resources, SaeSpec
from saebench.run.planning import EvaluatorSpec, GroupSpec

# The automatic batch size. On CPU the widest per-batch tensor (MLP hidden units, attention
# scores, SAE codes) is kept about cache-sized: small batches measured fastest there
# (benchmarks/core_throughput.py); logits never count, as they are made a few rows at a time.
# A model whose block of weights is larger than that reads them from memory on every batch,
# so there the budget is one block's weights (SmolLM2-135M: 14 MB, floor 2x faster at
# batch 8 than at 1). On a GPU, all of a batch's tensors share a larger budget.
_CPU_WIDEST_BYTES = 4 * 2**20
_GPU_BUDGET = 3 * 2**30
_MAX_BATCH = 64
# Samples per batch of a synthetic source: one position each, so batches are rows of x.
_SYNTHETIC_BATCH = 4096


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
    loaded = [(sae_spec, resources.sae(sae_spec, device, dtype)) for sae_spec in spec.saes]
    per_sae = [e for e in spec.evaluators if _kind(e) != "panel"]
    jobs = [
        _Job(sae_spec, sae, evaluator, spec.key(sae_spec, evaluator))
        for sae_spec, sae in loaded
        for evaluator in per_sae
    ]
    out = Path(out_dir) if out_dir is not None else None
    for job in jobs:
        job.record = _finished_record(out, job.key) if resume else None
    pending = [job for job in jobs if job.record is None]
    references: dict[str, EvalRecord] = {}
    if pending:
        _evaluate(pending, model, spec, done=lambda job: _keep(job, spec, out, references))
    records = [job.record for job in jobs] + list(references.values())
    for evaluator in spec.evaluators:
        if _kind(evaluator) == "panel":
            records += _run_panels(evaluator, loaded, model, spec, out, resume)
    return records


def _keep(job: _Job, spec: GroupSpec, out: Path | None, references: dict) -> None:
    """Seal and write a job's record (and its new references) as soon as it finishes, so a
    run stopped later keeps every record it finished and resumes from there."""
    job.record = _record(job, spec).sealed()
    _warn_partial(job)
    if out is not None:
        write_record(out, job.record)
    for reference in _reference_records(job, spec):
        if reference.key not in references:
            references[reference.key] = reference
            if out is not None:
                write_record(out, reference)


def _evaluator_class(name: str):
    from saebench.registry import evaluators

    return evaluators.get(name)


def _kind(evaluator: EvaluatorSpec) -> str:
    return getattr(_evaluator_class(evaluator.name), "kind", "streaming")


def _run_panels(evaluator, loaded, model, spec: GroupSpec, out, resume) -> list[EvalRecord]:
    """One record per site for a panel evaluator: every SAE of the group at that site
    (controls left out: each is a baseline of one SAE, and a panel has its own)."""
    from saebench.identity import stable_hash

    cls = _evaluator_class(evaluator.name)
    by_site: dict[str, list] = {}
    outside = 0  # SAEs the evaluator reads in no panel (None as their site)
    for sae_spec, sae in loaded:
        if getattr(sae, "control", None) is None:
            site = cls.panel_site(sae.meta)
            outside += site is None
            if site is not None:
                by_site.setdefault(site, []).append((sae_spec, sae))
    if outside:
        warnings.warn(
            f"{evaluator.name}: {outside} SAE(s) of this run are of a kind it does not read "
            f"({cls.panel_reads}); no panel record for them",
            SaebenchWarning,
            stacklevel=3,
        )
    records = []
    minimum = getattr(cls, "min_members", 2)
    for site, members in sorted(by_site.items()):
        if len(members) < minimum:
            warnings.warn(
                f"{evaluator.name}: {len(members)} SAE(s) at {site}, fewer than the "
                f"{minimum} it compares; no panel record there",
                SaebenchWarning,
                stacklevel=3,
            )
            continue
        names = sorted(f"{s.uri}#{s.weights_hash}" for s, _ in members)
        panel = SaeSpec(
            uri=f"panel:{evaluator.name}@{site}",
            name=f"panel-{site}",
            weights_hash=stable_hash(names),
        )
        job = _Job(panel, members[0][1], evaluator, spec.key(panel, evaluator))
        job.record = _finished_record(out, job.key) if resume else None
        if job.record is None:
            _evaluate([job], model, spec, panel=[sae for _, sae in members])
            job.record = _panel_record(job, spec, names, len(members))
            if out is not None:
                write_record(out, job.record)
        records.append(job.record)
    return records


def _panel_record(job: _Job, spec: GroupSpec, names: list[str], size: int) -> EvalRecord:
    record = _record(job, spec)
    sae = record.sae.model_copy(
        update={"architecture": "panel", "d_sae": size, "metadata": {}, "role": "panel"}
    )
    return record.model_copy(update={"sae": sae, "panel": names}).sealed()


def _warn_partial(job: _Job) -> None:
    """Say when a record is partial, with the evaluator's reason (``details.partial_reason``)."""
    if job.record.status == "partial":
        reason = job.record.details.get("partial_reason") or "part of its work failed"
        warnings.warn(
            f"{job.sae_spec.name} / {job.spec.name}: {reason}; the record is marked partial "
            "and a resumed run computes it again",
            SaebenchWarning,
            stacklevel=3,
        )


def _finished_record(out: Path | None, key: str) -> EvalRecord | None:
    """The stored record of a key, unless it is partial (then it is computed again)."""
    record = find_record(out, key)
    if record is not None and record.status == "partial":
        warnings.warn(
            f"{record.sae.name} / {record.evaluator.name}: the stored record is partial "
            "(part of its work failed); computing it again",
            SaebenchWarning,
            stacklevel=3,
        )
        return None
    return record


def _evaluate(
    jobs: list[_Job], model, spec: GroupSpec, panel: list | None = None, done=None
) -> None:
    """Make every job's evaluator, stream the shared pass once, then finish each job
    (handing it to ``done`` at once, when given)."""
    streams = any(job.spec.streams for job in jobs)
    own_rows = spec.model.synthetic or spec.model.embedding  # a source with no token set
    token_set = _token_set(spec, model, jobs) if streams and not own_rows else None
    slots = _make_evaluators(jobs, model, spec, token_set, panel)
    started = time.perf_counter()
    if streams:
        _shared_pass(list(slots.values()), model, token_set, spec)
    shared_seconds = (time.perf_counter() - started) / len(jobs)
    for job in jobs:
        began = time.perf_counter()
        job.result = job.evaluator.finish()
        job.timing = {
            "shared_pass_seconds": shared_seconds,
            "finish_seconds": time.perf_counter() - began,
            # once-per-run work this job did for every SAE (CPU seconds), by name
            **{f"once_{k}_cpu_seconds": v for k, v in job.evaluator.context.once_seconds.items()},
        }
        if done is not None:
            done(job)


def _make_evaluators(jobs, model, spec: GroupSpec, token_set, panel) -> dict:
    """Each job's evaluator with its context, grouped into one slot per SAE; every
    evaluator's needs checked against what the model source serves."""
    from saebench.activations.shared_pass import SaeSlot
    from saebench.evaluators.base import EvalContext
    from saebench.models.interventions import ModelRunner
    from saebench.registry import evaluators, sources
    from saebench.run.planning import parse_config
    from saebench.sources import check_serves

    runner = None if spec.model.synthetic or spec.model.embedding else ModelRunner(model)
    serves = sources.get(_source_name(spec)).serves
    llm = _llm_client(spec) if any(job.spec.llm_model for job in jobs) else None
    shared: dict = {}
    tasks: dict = {}  # built once per group, by identity
    slots: dict[int, SaeSlot] = {}
    for job in jobs:
        cls = evaluators.get(job.spec.name)
        config = parse_config(cls, job.spec.config)
        needs = cls.needs_for(config)
        check_serves(serves, needs, job.spec.name, _source_name(spec))
        context = EvalContext(
            sae=job.sae,
            model=model,
            runner=runner,
            token_set=token_set,
            task=_task(job.spec, tasks),
            device=spec.settings.device,
            llm=llm if job.spec.llm_model else None,
            shared=shared,
            identity=_once_identity(cls, config, job.spec, spec),
            extras={"panel": panel} if panel is not None else {},
        )
        job.evaluator = cls(config, context)
        slot = slots.setdefault(id(job.sae), SaeSlot(job.sae, [], []))
        slot.evaluators.append(job.evaluator)
        slot.needs.append(needs)
    return slots


def _source_name(spec: GroupSpec) -> str:
    if spec.model.embedding:
        return "embedding"
    return "synthetic" if spec.model.synthetic else "model"


def _shared_pass(slots: list, model, token_set, spec: GroupSpec) -> None:
    """One streamed pass of the group's source (its model over its tokens, or a synthetic
    tier's samples) for every slot."""
    from saebench.activations.shared_pass import SharedPass
    from saebench.registry import sources

    device = spec.settings.device
    identity = {
        "model": spec.model.model_dump(exclude={"location"}),
        "tokens": spec.tokens.model_dump(exclude={"name", "source"}),
    }
    make = sources.get(_source_name(spec))
    if spec.model.synthetic:
        source = make(model, spec.tokens.n_tokens, spec.tokens.source["stream"], device, identity)
        size = spec.settings.batch_size or _SYNTHETIC_BATCH
    elif spec.model.embedding:
        from saebench.run.embedding import embedding_source

        source = embedding_source(spec, model, identity)
        size = spec.settings.batch_size or _SYNTHETIC_BATCH
    else:
        source = make(model, token_set, device, identity=identity)
        size = spec.settings.batch_size or auto_batch_size(model, slots, token_set, device)
    SharedPass(source, slots, size, spec.settings.cache_dir, spec.settings.progress).run()


def _once_identity(cls, config, evaluator: EvaluatorSpec, spec: GroupSpec) -> dict:
    """What ``context.once`` keys shared work by, besides its name and site: the evaluator
    and its config (without SAE-only fields), the model, the token set it streams, the task."""
    return {
        "evaluator": [cls.name, cls.version, cls.prepare_identity(config)],
        "model": spec.model.model_dump(mode="json", exclude={"location"}),
        "tokens": spec.dataset_for(evaluator)
        and spec.dataset_for(evaluator).model_dump(mode="json"),
        "task": evaluator.task.model_dump(mode="json") if evaluator.task else None,
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
    """Contexts per batch: on CPU so that the widest per-batch tensor stays cache-sized (or
    within one block's weights, if larger), on a GPU so that all of a batch's tensors fit a
    budget. Never changes a number."""
    cfg, ctx = model.cfg, token_set.context_size
    if not str(device).startswith("cuda"):
        widest = max(cfg.d_mlp or 0, cfg.d_model, cfg.n_heads * ctx, *(s.sae.d_sae for s in slots))
        blocks = getattr(model, "blocks", None)
        block = sum(p.numel() * p.element_size() for p in blocks[0].parameters()) if blocks else 0
        budget = max(_CPU_WIDEST_BYTES, block)
        return int(max(1, min(_MAX_BATCH, budget // (4 * ctx * widest))))
    per_token = sum(4 * (s.sae.d_sae + 3 * s.sae.d_out) for s in slots)
    if any(s.downstream for s in slots):
        per_token += 4 * cfg.d_model * (2 + len(slots))  # final residuals of every run
    return int(max(1, min(_MAX_BATCH, _GPU_BUDGET // max(per_token * ctx, 1))))


def _record(job: _Job, spec: GroupSpec) -> EvalRecord:
    from saebench.records import provenance
    from saebench.registry import evaluators

    cls = evaluators.get(job.spec.name)
    main = cls.main_metric_for(cls.Config(**job.spec.config))
    meta = job.sae.meta
    control = getattr(job.sae, "control", None)  # set on controls (saebench.sae.controls)
    return EvalRecord(
        key=job.key,
        evaluator=EvaluatorInfo(
            name=job.spec.name,
            version=job.spec.version,
            config=job.spec.config,
            config_hash=job.spec.config_hash,
            main_metric=main,
            higher_is_better=cls.directions(),
            headline=list(cls.headline or (main,)),
            llm_model=job.spec.llm_model,
            llm_seed=job.spec.llm_seed,
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
            role="control" if control is not None else "sae",
            of=control.of if control is not None else None,
        ),
        model=spec.model.model_dump(exclude={"location"}),
        dataset=spec.dataset_for(job.spec),
        task=job.spec.task,
        metrics=_finite(job.result.metrics.model_dump()),
        intervals=job.result.intervals,
        nulls=_finite(job.result.nulls),
        sample_sizes=job.result.sample_sizes,
        status=job.result.status,
        details=job.result.details,
        seeds=job.result.seeds,
        provenance=provenance(spec.settings.device),
        timing=job.timing,
    )


def _reference_records(job: _Job, spec: GroupSpec) -> list[EvalRecord]:
    """One record per reference method measured beside the job's SAE. Its identity names
    the evaluator, the method, the site and the task or tokens, never the SAE, so the same
    reference computed beside several SAEs is one record."""
    from saebench.identity import stable_hash
    from saebench.records import record_key

    base = job.record
    records = []
    for ref in job.result.references:
        uri = f"reference:{base.evaluator.name}/{ref.method}@{ref.hook_name}"
        weights = stable_hash([base.evaluator.name, ref.method, ref.hook_name])
        sae = SaeInfo(
            uri=uri,
            name=ref.method,
            architecture="reference",
            hook_name=ref.hook_name,
            d_in=base.sae.d_in,
            d_sae=ref.size,
            weights_hash=weights,
            metadata={},
            role="reference",
        )
        key = record_key(uri, weights, base.model, base.evaluator, base.dataset, base.task)
        update = {
            "key": key,
            "sae": sae,
            "metrics": _finite(ref.metrics),
            "intervals": ref.intervals,
            "nulls": _finite(ref.nulls),
            "status": "complete",  # a reference's own work; the SAE's failures are its own
            "sample_sizes": ref.sample_sizes or base.sample_sizes,
            "details": ref.details,
            "seeds": ref.seeds,
        }
        records.append(base.model_copy(update=update).sealed())
    return records


def _finite(metrics: dict[str, Any]) -> dict[str, float | None]:
    return {
        key: None if value is None or not math.isfinite(float(value)) else float(value)
        for key, value in metrics.items()
    }


def _dtype(name: str | None):
    from saebench.models.load import parse_dtype

    return parse_dtype(name)
