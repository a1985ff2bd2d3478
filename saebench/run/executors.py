"""Run a :class:`~saebench.run.request.RunRequest`: plan it, then map
:func:`~saebench.run.group.run_group` over its groups, in this process or as Ray tasks, behind one
call (:func:`execute`). Both executors skip the records already in the output folder and tell
``on_event(kind, group, info)`` of each group's ``skip``/``start``/``done`` (and, on Ray,
``retry``/``failed``), so progress lines and resume live in one place.

:func:`evaluate` is the Python entry point: keyword options build the request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from saebench.errors import setting
from saebench.records import EvalRecord
from saebench.resources import Resources
from saebench.run.planning import GroupSpec, in_plan_order
from saebench.run.request import DEFAULT_EVALUATORS, RunRequest

Event = Callable[[str, GroupSpec, dict], None]


def evaluate(
    saes: Any,
    model: Any = None,
    dataset: Any = None,
    evaluators: str | Sequence[str] = DEFAULT_EVALUATORS,
    n_tokens: int | None = None,
    **options: Any,
) -> list[EvalRecord]:
    """Evaluate one or many SAEs with the named evaluators; return (and write) records.

    ``saes`` is a URI, a loaded :class:`~saebench.sae.Sae`, or a list of them; ``model`` a
    TransformerLens name, ``"zoo"``, ``"smollm2-135m"``, a local folder or a HookedTransformer
    (default: the SAEs' own model); ``dataset`` a list of strings, a .txt/.jsonl path,
    ``"zoo"``, a Hugging Face dataset name, or token ids; ``n_tokens`` the budget per SAE
    (None: 200,000, capped with a warning at what the dataset gives); ``evaluators`` a name, a
    comma-separated string or a list. Other options are the fields of
    :class:`~saebench.run.request.RunRequest`: ``configs``, ``context_size``, ``prepend_bos``,
    ``separator``, ``batch_size``, ``device``, ``model_dtype``, ``sae_dtype``, ``out_dir``,
    ``cache_dir``, ``resume``, ``progress``, ``llm`` (the judge of evaluators that ask an LLM),
    ``controls`` (control kinds made beside every SAE, ``docs/controls.md``) and ``executor``
    (``{"name": "ray", "address": ...}``). A record's numbers depend only on its key: never on
    the other SAEs of the call, the batch size, the executor or the device count.

    Example:
        >>> records = evaluate("zoo:resid-topk-16", model="zoo", dataset="zoo", n_tokens=20_000)
        >>> records[0].metrics["explained_variance"]
    """
    request = RunRequest.build(
        saes, model=model, dataset=dataset, evaluators=evaluators, n_tokens=n_tokens, **options
    )
    return execute(request)


def execute(
    request: RunRequest,
    *,
    groups: Sequence[GroupSpec] | None = None,
    resources: Resources | None = None,
    on_event: Event | None = None,
) -> list[EvalRecord]:
    """Plan the request (unless ``groups`` are given) and run it on its executor; every
    record (SAEs, their controls, references, panels) in plan order."""
    from saebench.files import check_writable_dir
    from saebench.run.planning import plan_request

    settings = request.executor
    if settings.name == "ray":
        from saebench.run.ray_executor import check_address, import_ray

        import_ray()  # before any loading: a missing extra is a one-line error at once
        check_address(settings.address, setting("executor"))
    if request.out_dir is not None:
        check_writable_dir(request.out_dir, setting("out_dir"))
    resources = resources or Resources()
    groups = list(groups) if groups is not None else plan_request(request, resources)
    if settings.name == "ray":
        from saebench.run.ray_executor import run_ray

        records = run_ray(
            groups,
            request.out_dir,
            address=settings.address,
            num_cpus=settings.num_cpus or 1,
            num_gpus=settings.num_gpus or 0,
            retries=settings.retries,
            resume=request.resume,
            on_event=on_event,
        )
    else:
        records = run_local(
            groups, request.out_dir, resume=request.resume, resources=resources, on_event=on_event
        )
    if request.out_dir is not None and request.resume:
        records += companions(request.out_dir, groups)
    return in_plan_order(records, groups)


def run_local(
    groups: Sequence[GroupSpec],
    out_dir: str | Path | None = None,
    *,
    resume: bool = True,
    resources: Resources | None = None,
    on_event: Event | None = None,
) -> list[EvalRecord]:
    """Every group's records, run in this process one group after another (models and SAEs
    loaded once and shared); a group whose records are all there is skipped."""
    from saebench.run.group import run_group
    from saebench.run.ray_executor import pending_spec

    resources = resources or Resources()
    records: list[EvalRecord] = []
    for spec in groups:
        todo, done = pending_spec(spec, out_dir) if resume and out_dir else (spec, [])
        if todo is None:
            _tell(on_event, "skip", spec, {"records": len(done)})
            records += done
            continue
        _tell(on_event, "start", spec, {"pending": len(todo.saes) * len(todo.evaluators)})
        began = time.perf_counter()
        new = run_group(todo, out_dir, resume=resume, resources=resources)
        known = {record.key for record in done}
        fresh = [record for record in new if record.key not in known]
        _tell(
            on_event, "done", spec, {"records": len(fresh), "seconds": time.perf_counter() - began}
        )
        records += done + fresh
    return records


def companions(out_dir: str | Path, groups: Sequence[GroupSpec]) -> list[EvalRecord]:
    """Reference and panel records in ``out_dir`` made by the groups' evaluators on the
    groups' model and data: a resumed run returns them too, though it computed nothing."""
    from saebench.records import load_records

    if not Path(out_dir).is_dir():  # nothing was written (e.g. a panel of one SAE)
        return []
    wanted = set()
    for spec in groups:
        for evaluator in spec.evaluators:
            dataset = spec.dataset_for(evaluator)
            wanted.add(_origin(spec.model, evaluator, dataset, evaluator.task))
    return [
        record
        for record in load_records(out_dir)
        if record.sae.role in ("reference", "panel")
        and record.key == record.expected_key()
        and _origin(record.model, record.evaluator, record.dataset, record.task) in wanted
    ]


def _origin(model, evaluator, dataset, task) -> str:
    from saebench.identity import stable_hash

    return stable_hash(
        [
            [model.name, model.weights_hash, model.tokenizer_hash, model.dtype],
            [evaluator.name, evaluator.version, evaluator.config_hash, evaluator.llm_model],
            dataset.model_dump(mode="json", exclude={"name", "source"}) if dataset else None,
            task.model_dump(mode="json") if task else None,
        ]
    )


def _tell(on_event: Event | None, kind: str, spec: GroupSpec, info: dict) -> None:
    if on_event is not None:
        on_event(kind, spec, info)
