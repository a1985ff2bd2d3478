"""One SAE's RAVEL record in two parts. :func:`prepare` does what every SAE at one hook
shares, once: the model's answers (once for the run), then per seed the pairs, the pairs made
ready at the hook and the references. :func:`evaluate_sae` does the rest per SAE: per seed
its MDBM and probe selections, then the summary into metrics, intervals, per-seed values,
nulls and references.

Example:
    >>> prepared = prepare(RavelConfig(), context)           # RavelEvaluator.prepare
    >>> result = evaluate_sae(RavelConfig(), sae, prepared, context)
    >>> result.intervals["disentanglement"], [r.method for r in result.references]
"""

from __future__ import annotations

import time
import warnings

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.evaluators import EvalContext, EvalResult, Reference
from saebench.evaluators.ravel.config import RavelConfig, RavelMetrics
from saebench.evaluators.ravel.featurizers import hook_view
from saebench.evaluators.ravel.interventions import site_position
from saebench.evaluators.ravel.methods import MethodResult, RunSettings, run_mdbm, run_probe
from saebench.evaluators.ravel.prepared import Prepared, SeedData, build_hook_data
from saebench.evaluators.ravel.references import run_references
from saebench.evaluators.ravel.selection import DasSchedule, MaskSchedule
from saebench.evaluators.ravel.summary import SCORES, sample_sizes, summarise


def answered_prompts(config: RavelConfig, context: EvalContext):
    """The prompts the model answers (the costly part: every prompt), and its CPU seconds."""
    from saebench.evaluators.ravel.instances import answered

    began = time.process_time()
    found = answered(context.task, context.runner, answer_tokens=config.answer_tokens)
    return found, time.process_time() - began


def seed_pairs(config: RavelConfig, answers, seed: int):
    """The pairs of one seed (each seed draws its own)."""
    from saebench.evaluators.ravel.instances import make_pairs

    caps = {
        "train": config.n_train_pairs,
        "val": config.n_val_pairs,
        "entity": config.n_pairs,
        "context": config.n_pairs,
    }
    return make_pairs(answers, targets=config.targets, n_pairs=caps, seed=seed)


def prepare(config: RavelConfig, context: EvalContext) -> Prepared:
    """What every SAE at the context's hook shares: answers, pairs and references per seed.
    The answers and each seed's pairs do not depend on the hook: the whole run shares them."""
    answers, seconds = context.once("answers", lambda: answered_prompts(config, context))
    kept = [p for prompts in answers.kept.values() for p in prompts]
    site_position(config.patched_position()).check(kept, who=f"ravel: task {context.task.name!r}")
    seeds = [_prepare_seed(config, context, answers, seed) for seed in config.seeds]
    return Prepared(context.sae.meta.hook_name, seeds, seconds)


def _prepare_seed(config: RavelConfig, context: EvalContext, answers, seed: int) -> SeedData:
    meta = context.sae.meta
    instances = context.once("pairs", lambda: seed_pairs(config, answers, seed), depends_on=seed)
    targets = targets_of(config, instances)
    if not targets:
        raise SaebenchError("ravel: the model answers too few prompts to build any pair")
    data = build_hook_data(
        context.runner,
        instances,
        meta.hook_name,
        targets=targets,
        batch_size=config.batch_size,
        seed=seed,
        meta=meta,
        position=config.patched_position(),
    )
    settings = settings_of(config, instances.answer_tokens)
    references = run_references(config.references, context.runner, data, hook_view(meta), settings)
    return SeedData(seed, instances, targets, data, references)


def settings_of(config: RavelConfig, n_tokens: int) -> RunSettings:
    return RunSettings(
        schedule=MaskSchedule(
            config.mask_steps,
            config.mask_lr,
            config.temperature_start,
            config.temperature_end,
            config.mask_l1,
            config.keep_error,
        ),
        das_schedule=DasSchedule(config.das_max_steps, config.das_lr, config.das_tol),
        n_tokens=n_tokens,
        das_dims=tuple(config.das_dims),
        probe_c=config.probe_c,
        probe_max_latents=config.probe_max_latents,
    )


def targets_of(config: RavelConfig, instances) -> list[str]:
    present = sorted({p.target for p in instances.pairs})
    if config.targets is None:
        return present
    missing = [t for t in config.targets if t not in present]
    if missing:
        raise SaebenchError(
            f"ravel: no pairs for target attribute(s) {missing} (with pairs: "
            f"{', '.join(present) or 'none'}); fix ravel.targets"
        )
    return list(config.targets)


def evaluate_sae(config: RavelConfig, sae, prepared: Prepared, context: EvalContext) -> EvalResult:
    """The SAE's MDBM and probe selections on every seed's prepared pairs, beside the
    references prepared for them."""
    runner = context.runner
    methods = {"mdbm": MethodResult(), "probe": MethodResult(), "empty": MethodResult()}
    refs: dict[str, MethodResult] = {name: MethodResult() for name in config.references}
    counts: dict[str, int] = {}
    for one in prepared.seeds:
        settings = settings_of(config, one.instances.answer_tokens)
        run_mdbm(
            runner,
            lambda target: sae,
            one.data,
            settings,
            "sae",
            seed=one.seed,
            result=methods["mdbm"],
            null=methods["empty"],
        )
        run_probe(runner, sae, one.data, settings, seed=one.seed, result=methods["probe"])
        for name, (result, _) in one.references.items():
            _extend(refs[name], result)
        for split, n in one.data.pair_counts().items():
            counts[split] = counts.get(split, 0) + n
    return _result(config, context, prepared, methods, refs, counts)


def _extend(into: MethodResult, one: MethodResult) -> None:
    into.size = one.size
    into.runs += one.runs
    into.train_seconds += one.train_seconds
    into.eval_seconds += one.eval_seconds
    into.evaluated_pairs += one.evaluated_pairs


def _result(config, context, prepared: Prepared, methods, refs, counts) -> EvalResult:
    hook = prepared.hook
    metrics, intervals, seeds = summarise(methods["mdbm"])
    probe, probe_intervals, probe_seeds = summarise(
        methods["probe"], {"disentanglement_probe": SCORES["disentanglement"]}
    )
    intervals["disentanglement_probe"] = probe_intervals["disentanglement_probe"]
    seeds.update({k: v for k, v in probe_seeds.items() if k == "disentanglement_probe"})
    null, _, _ = summarise(methods["empty"])
    details = _details(config, context, prepared, {**methods, **refs}, counts)
    if note := _inert_column(refs, config, hook):
        details["note"] = note
        warnings.warn(f"ravel: {note}", SaebenchWarning, stacklevel=3)
    return EvalResult(
        metrics=RavelMetrics(
            **metrics,
            disentanglement_probe=probe["disentanglement_probe"],
            selected_latents_probe=probe["selected_latents"],
        ),
        details=details,
        seeds=seeds,
        intervals=intervals,
        # the empty mask on the same pairs: the SAE's reconstruction alone (isolation near
        # 1, cause near 0, disentanglement near 0.5); a mask is worth its distance from it
        nulls={k: v for k, v in null.items() if k in SCORES},
        sample_sizes=sample_sizes(methods["mdbm"], counts),
        references=[
            _reference(name, result, hook, counts, config) for name, result in refs.items()
        ],
    )


def _reference(name: str, result: MethodResult, hook: str, counts, config) -> Reference:
    metrics, intervals, seeds = summarise(result)
    info = [run.info for run in result.runs]
    swapped = max((c for per_seed in result.selected.values() for c in per_seed), default=0)
    size = result.size or swapped  # a basis's width; a rotation's (largest) dimension
    details = {
        "position": config.patched_position(),
        "variant": config.variant() or "ravel",
        "scores": result.scores,
        "selected": result.selected,
        "timing": result.timing(),
    }
    if any(info):
        details["training"] = info
    return Reference(
        method=name,
        hook_name=hook,
        metrics=metrics,
        intervals=intervals,
        details=details,
        seeds=seeds,
        sample_sizes=sample_sizes(result, counts),
        size=int(size),
    )


def _details(config, context, prepared: Prepared, methods, counts) -> dict:
    last = prepared.seeds[-1]  # targets, answer tokens and survivors: the last seed's
    instances = last.instances
    details = {
        "status": "ok",
        "task": context.task.name,
        "targets": last.targets,
        "answer_tokens": instances.answer_tokens,
        "position": config.patched_position(),
        "variant": config.variant() or "ravel",
        "scores": {name: methods[name].scores for name in ("mdbm", "probe", "empty")},
        "selected_latents": {name: methods[name].selected for name in ("mdbm", "probe")},
        "pairs": counts,
        "survivors": instances.survivors,
        # CPU seconds of this process; a reference's and the answers' are those of the SAE
        # whose run computed them
        "timing": {name: methods[name].timing() for name in ("mdbm", "probe")},
        "reference_cpu_seconds": prepared.reference_seconds(),
        "answers_cpu_seconds": round(prepared.answers_seconds, 3),
    }
    if len(config.seeds) > 1:
        details["per_seed"] = {name: methods[name].per_seed for name in ("mdbm", "probe")}
    return details


def _inert_column(refs: dict[str, MethodResult], config: RavelConfig, hook: str) -> str | None:
    """A warning when even the skyline (DAS or MDAS, trained to change the answer) changes
    almost no answer: the model does not read the attributes from the patched column at this
    hook, so every method scores cause 0 and isolation 1, and the scores tell nothing apart."""
    from saebench.evaluators.ravel.scores import mean_over_targets

    causes = [
        mean_over_targets(refs[m].scores, "entity", "cause") for m in ("das", "mdas") if m in refs
    ]
    causes = [c for c in causes if c is not None]
    if not causes or max(causes) >= 0.05:
        return None
    cause = max(causes)
    position = config.patched_position()
    where = "the entity's last token" if position == "entity" else "the last token"
    hint = (
        "; --set ravel.position=last patches the prompt's last token"
        if position == "entity"
        else ""
    )
    return (
        f"even DAS changes {cause:.0%} of the answers by patching {hook} at {where}: this model "
        f"does not read the attributes there{hint}"
    )
