"""Executors map :func:`~saebench.group.run_group` over the groups of a plan.

The local executor runs the groups one after another in this process and shares loaded
models and SAEs between them; :func:`evaluate` is :func:`~saebench.planning.plan` plus it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from saebench.errors import setting
from saebench.planning import DEFAULT_EVALUATORS, GroupSpec
from saebench.records import EvalRecord
from saebench.resources import Resources


def run_local(
    groups: Sequence[GroupSpec],
    out_dir: str | Path | None = None,
    *,
    resume: bool = True,
    resources: Resources | None = None,
) -> list[EvalRecord]:
    """Every group's records, in plan order, run in this process."""
    from saebench.group import run_group

    resources = resources or Resources()
    records: list[EvalRecord] = []
    for group in groups:
        records += run_group(group, out_dir, resume=resume, resources=resources)
    return records


def evaluate(
    saes: Any,
    model: Any = None,
    dataset: Any = None,
    evaluators: str | Sequence[str] = DEFAULT_EVALUATORS,
    n_tokens: int = 200_000,
    *,
    configs: dict[str, dict[str, Any]] | None = None,
    context_size: int | None = None,
    prepend_bos: bool | None = None,
    separator: str | int | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    model_dtype: str | None = None,
    sae_dtype: str | None = None,
    out_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    resume: bool = True,
    progress: bool = True,
    llm: Any = None,
) -> list[EvalRecord]:
    """Evaluate one or many SAEs with the named evaluators; return (and write) records.

    ``saes`` is a URI, a loaded :class:`~saebench.sae.Sae`, or a list of them; ``model`` a
    TransformerLens name, ``"zoo"``, a local folder or a HookedTransformer (default: the
    SAEs' own model); ``dataset`` a list of strings, a .txt/.jsonl path, ``"zoo"``, a Hugging
    Face dataset name, or token ids (a ``[n, ctx]`` tensor or array, a .pt/.npy/.safetensors
    file, a dataset with an ``input_ids`` column); ``evaluators`` a name, a comma-separated
    string or a list; ``llm`` the judge of evaluators that ask an LLM (an
    :class:`~saebench.llm.LlmSettings` or a dict of its fields, e.g. ``{"model": ..., "base_url":
    ...}``; unset: the environment). A record's numbers depend only on its key: never on the other SAEs of
    the call, the batch size or the device count.

    Example:
        >>> records = evaluate("zoo:resid-topk-16", model="zoo", dataset="zoo", n_tokens=20_000)
        >>> records[0].metrics["explained_variance"]
    """
    from saebench.files import check_writable_dir
    from saebench.planning import plan

    if out_dir is not None:
        check_writable_dir(out_dir, setting("out_dir"))
    resources = Resources()
    groups = plan(
        saes,
        model,
        dataset,
        evaluators,
        n_tokens,
        configs=configs,
        context_size=context_size,
        prepend_bos=prepend_bos,
        separator=separator,
        batch_size=batch_size,
        device=device,
        model_dtype=model_dtype,
        sae_dtype=sae_dtype,
        cache_dir=cache_dir,
        progress=progress,
        llm=llm,
        resources=resources,
    )
    records = run_local(groups, out_dir, resume=resume, resources=resources)
    position = {(s.uri, s.weights_hash): s.position for group in groups for s in group.saes}
    order = {e.name: i for i, e in enumerate(groups[0].evaluators)}
    return sorted(
        records,
        key=lambda r: (position[(r.sae.uri, r.sae.weights_hash)], order[r.evaluator.name]),
    )
