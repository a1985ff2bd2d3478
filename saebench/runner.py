"""Plan and run evaluations: resolve inputs, skip finished records, share one pass.

The planner groups the (SAE, evaluator) pairs that still need running by model and token
set, runs one :class:`SharedPass` per group, then lets each evaluator finish (those that
intervene in the model do their work there) and writes one record per pair.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from saebench.errors import SaebenchError
from saebench.evaluators.base import EvalConfig, EvalContext, Evaluator, get_evaluator
from saebench.records import (
    DatasetInfo,
    EvalRecord,
    EvaluatorInfo,
    SaeInfo,
    find_record,
    provenance,
    record_key,
    stable_hash,
    weights_hash,
    write_record,
)

DEFAULT_EVALUATORS = ("reconstruction", "sparsity")
_MEMORY_BUDGET = 768 * 2**20  # bytes of per-batch tensors on CPU; four times that on GPU


@dataclass
class _Job:
    """One (SAE, evaluator) pair of the plan."""

    sae_name: str
    sae: Any
    evaluator_cls: type[Evaluator]
    config: EvalConfig
    key: str
    weights: str
    record: EvalRecord | None = None
    evaluator: Evaluator | None = None
    result: Any = None
    timing: dict[str, float] = field(default_factory=dict)


def evaluate(
    saes: Any,
    model: Any = None,
    dataset: Any = None,
    evaluators: Sequence[str] = DEFAULT_EVALUATORS,
    n_tokens: int = 200_000,
    *,
    configs: dict[str, dict[str, Any]] | None = None,
    context_size: int | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    model_dtype: str | torch.dtype | None = None,
    sae_dtype: str | torch.dtype | None = None,
    out_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    resume: bool = True,
    progress: bool = True,
) -> list[EvalRecord]:
    """Evaluate one or many SAEs with the named evaluators; return (and write) records.

    ``saes`` is a URI, a loaded :class:`~saebench.sae.Sae`, or a list of them; ``model`` a
    TransformerLens name, ``"zoo"``, a local folder or a HookedTransformer (default: the
    SAEs' own model); ``dataset`` a list of strings, a .txt/.jsonl path, ``"zoo"`` or a
    Hugging Face dataset name.

    Example:
        >>> records = evaluate("zoo:resid-topk-16", model="zoo", dataset="zoo", n_tokens=20_000)
        >>> records[0].metrics["explained_variance"]
    """
    from saebench.adapters.resolve import load_sae
    from saebench.data.contexts import make_contexts
    from saebench.data.sources import text_source
    from saebench.models.hooks import check_saes_fit
    from saebench.models.load import default_device, load_model, model_identity, parse_dtype

    device = device or default_device()
    named = _load_saes(saes, load_sae, device, parse_dtype(sae_dtype))
    model = load_model(model or _model_of(named), device, model_dtype)
    check_saes_fit(model, [sae.meta for _, sae in named])
    if dataset is None:
        raise SaebenchError("no dataset given; pass --dataset FILE (or `zoo` with --model zoo)")
    context_size = _context_size(context_size, named, model)
    tokens = make_contexts(
        model.tokenizer,
        text_source(dataset),
        context_size,
        n_tokens,
        prepend_bos=all(sae.meta.prepend_bos for _, sae in named),
    )
    identity = model_identity(model)
    jobs = _plan(named, evaluators, configs or {}, identity, tokens)
    out = Path(out_dir) if out_dir else None
    for job in jobs:
        job.record = find_record(out, job.key) if resume else None
    _run(jobs, model, tokens, device, batch_size, cache_dir, progress)
    records = []
    for job in jobs:
        if job.evaluator is not None:
            job.record = _record(job, identity, tokens, device)
            if out is not None:
                write_record(out, job.record)
        records.append(job.record)
    return records


def _load_saes(saes, load_sae, device, dtype) -> list[tuple[str, Any]]:
    items = saes if isinstance(saes, (list, tuple)) else [saes]
    if not items:
        raise SaebenchError("no SAE given")
    named = []
    for index, item in enumerate(items):
        sae = load_sae(item, device=device, dtype=dtype)
        name = item if isinstance(item, str) else (sae.meta.source or f"sae-{index}")
        named.append((name, sae))
    return named


def _model_of(named) -> str:
    names = {sae.meta.model_name for _, sae in named}
    if len(names) != 1 or None in names:
        raise SaebenchError(
            "cannot tell which model to use (the SAEs name "
            f"{', '.join(sorted(map(str, names)))}); pass --model"
        )
    return names.pop()


def _context_size(requested, named, model) -> int:
    limit = model.cfg.n_ctx
    if requested is not None:
        if requested > limit:
            raise SaebenchError(f"--context-size {requested} exceeds the model's n_ctx {limit}")
        return requested
    trained = [sae.meta.context_size for _, sae in named if sae.meta.context_size]
    return min([*trained, 128, limit])


def _plan(named, evaluator_names, configs, identity, tokens) -> list[_Job]:
    unknown = set(configs) - set(evaluator_names)
    if unknown:
        raise SaebenchError(f"settings given for evaluators not run: {', '.join(sorted(unknown))}")
    classes = {name: get_evaluator(name) for name in evaluator_names}
    parsed = {name: _config(cls, configs.get(name, {})) for name, cls in classes.items()}
    jobs = []
    for sae_name, sae in named:
        weights = weights_hash(sae)
        for name, cls in classes.items():
            config = parsed[name]
            key = record_key(
                weights,
                name,
                cls.version,
                stable_hash(config.model_dump()),
                f"{identity['name']}@{identity['revision']}",
                tokens.source.fingerprint,
                tokens.n_tokens,
                tokens.context_size,
            )
            jobs.append(_Job(sae_name, sae, cls, config, key, weights))
    return jobs


def _config(cls: type[Evaluator], values: dict[str, Any]) -> EvalConfig:
    try:
        return cls.Config(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SaebenchError(f"evaluator {cls.name!r}, setting {field!r}: {first['msg']}") from exc


def _run(jobs, model, tokens, device, batch_size, cache_dir, progress) -> None:
    from saebench.activations.shared_pass import SaeSlot, SharedPass
    from saebench.models.runner import ModelRunner

    pending = [job for job in jobs if job.record is None]
    if not pending:
        return
    runner = ModelRunner(model)
    shared: dict = {}
    slots: dict[int, SaeSlot] = {}
    for job in pending:
        context = EvalContext(
            sae=job.sae, model=model, runner=runner, token_set=tokens, device=device, shared=shared
        )
        job.evaluator = job.evaluator_cls(job.config, context)
        slot = slots.setdefault(id(job.sae), SaeSlot(job.sae, [], []))
        slot.evaluators.append(job.evaluator)
        slot.needs.append(job.evaluator_cls.needs_for(job.config))
    slot_list = list(slots.values())
    # Stacking several SAEs' splices in one call pays on a GPU; on a CPU the bigger logits
    # tensors fall out of cache and it is slower (benchmarks/core_throughput.py).
    stack = 8 if str(device).startswith("cuda") else 1
    splice_rows = max(1, min(stack, sum(s.downstream for s in slot_list)))
    size = batch_size or auto_batch_size(model, slot_list, tokens.context_size, device, splice_rows)
    started = time.perf_counter()
    shared = SharedPass(model, tokens, slot_list, size, device, cache_dir, progress, splice_rows)
    shared.run()
    shared_seconds = (time.perf_counter() - started) / len(pending)
    for job in pending:
        began = time.perf_counter()
        job.result = job.evaluator.finish()
        job.timing = {
            "shared_pass_seconds": shared_seconds,
            "finish_seconds": time.perf_counter() - began,
        }


def auto_batch_size(model, slots, context_size: int, device: str, splice_rows: int = 1) -> int:
    """Contexts per batch so that per-batch tensors stay within a memory budget."""
    budget = _MEMORY_BUDGET * (4 if str(device).startswith("cuda") else 1)
    per_token = sum(4 * (s.sae.d_sae + 3 * s.sae.d_out) for s in slots)
    if any(s.downstream for s in slots):
        # clean logits and log-probs, the zero-ablated run, and the stacked spliced runs
        # with their log-softmax
        per_token += 4 * model.cfg.d_vocab * (3 + 2 * splice_rows)
    per_context = max(per_token * context_size, 1)
    return int(max(1, min(64, budget // per_context)))


def _record(job: _Job, identity, tokens, device) -> EvalRecord:
    cls, result, sae = job.evaluator_cls, job.result, job.sae
    meta = sae.meta
    return EvalRecord(
        key=job.key,
        evaluator=EvaluatorInfo(
            name=cls.name,
            version=cls.version,
            config=job.config.model_dump(),
            config_hash=stable_hash(job.config.model_dump()),
            main_metric=cls.main_metric,
            higher_is_better=cls.directions(),
        ),
        sae=SaeInfo(
            uri=job.sae_name,
            name=_short_name(job.sae_name),
            architecture=meta.architecture,
            hook_name=meta.hook_name,
            d_in=meta.d_in,
            d_sae=meta.d_sae,
            weights_hash=job.weights,
            metadata=meta.model_dump(mode="json"),
        ),
        model=identity,
        dataset=DatasetInfo(
            name=tokens.source.name,
            fingerprint=tokens.source.fingerprint,
            n_tokens=tokens.n_tokens,
            context_size=tokens.context_size,
        ),
        metrics=_finite(result.metrics.model_dump()),
        details=result.details,
        seeds=result.seeds,
        provenance=provenance(device),
        timing=job.timing,
    )


def _finite(metrics: dict[str, Any]) -> dict[str, float | None]:
    import math

    out = {}
    for key, value in metrics.items():
        out[key] = None if value is None or not math.isfinite(float(value)) else float(value)
    return out


def _short_name(uri: str) -> str:
    return uri.split(":", 1)[1] if uri.startswith("zoo:") else uri.rstrip("/").split("/")[-1]
