"""One SAE's RAVEL record: instances and prepared pairs (shared), the SAE's MDBM and probe
selections, the shared references, and the summary into metrics, details and seeds.

Example:
    >>> result = evaluate_sae(RavelConfig(), context)    # what RavelEvaluator.finish returns
    >>> result.details["scores"]["das"]["country"]["entity"]
"""

from __future__ import annotations

import time
import warnings

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.evaluators import EvalContext, EvalResult
from saebench.evaluators.ravel.evaluator import RavelConfig, RavelMetrics
from saebench.evaluators.ravel.featurizers import hook_view
from saebench.evaluators.ravel.methods import MethodResult, RunSettings, run_mdbm, run_probe
from saebench.evaluators.ravel.prepared import EVAL_SPLITS, hook_data
from saebench.evaluators.ravel.references import reference_seconds, shared_references
from saebench.evaluators.ravel.scores import difference, mean_over_targets
from saebench.evaluators.ravel.selection import MaskSchedule
from saebench.identity import stable_hash


def run_key(config: RavelConfig, context: EvalContext) -> tuple:
    """What the shared work depends on: the model, the task's data and the config."""
    model = context.runner.model
    return (model.cfg.model_name, context.task.spec().fingerprint, stable_hash(config.model_dump()))


def shared_instances(config: RavelConfig, context: EvalContext, key: tuple):
    """The model's RAVEL instances of the task, built once per key."""
    slot = ("ravel-instances", key)
    if slot not in context.shared:
        from saebench.evaluators.ravel.instances import build_instances

        kwargs = {"targets": config.targets, "n_pairs": config.n_pairs, "seed": config.seed}
        if config.answer_tokens is not None:
            kwargs["answer_tokens"] = config.answer_tokens
        began = time.process_time()
        instances = build_instances(context.task, context.runner, **kwargs)
        context.shared[("ravel-instances-seconds", key)] = time.process_time() - began
        # interventions are judged by the rule the filter used: the same number of tokens
        context.shared[slot] = (instances, instances.answer_tokens)
    return context.shared[slot]


def settings_of(config: RavelConfig, n_tokens: int) -> RunSettings:
    def schedule(steps: int, lr: float) -> MaskSchedule:
        return MaskSchedule(
            steps,
            lr,
            config.temperature_start,
            config.temperature_end,
            config.mask_l1,
            config.keep_error,
        )

    return RunSettings(
        schedule=schedule(config.mask_steps, config.mask_lr),
        das_schedule=schedule(config.das_steps, config.das_lr),
        seeds=tuple(config.seeds),
        n_tokens=n_tokens,
        das_dim=config.das_dim,
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


def evaluate_sae(config: RavelConfig, context: EvalContext) -> EvalResult:
    runner, sae = context.runner, context.sae
    key = run_key(config, context)
    instances, n_tokens = shared_instances(config, context, key)
    targets = targets_of(config, instances)
    if not targets:
        raise SaebenchError("ravel: the model answers too few prompts to build any pair")
    hook = sae.meta.hook_name
    data = hook_data(
        context.shared,
        runner,
        instances,
        hook,
        targets=targets,
        batch_size=config.batch_size,
        seed=config.seed,
        meta=sae.meta,
        position=config.position,
        key=key,
    )
    settings = settings_of(config, n_tokens)
    mdbm = run_mdbm(runner, sae, data, settings, "sae")
    probe = run_probe(runner, sae, data, settings)
    refs = shared_references(
        context.shared,
        runner,
        data,
        hook_view(sae.meta),
        settings,
        methods=config.references,
        key=key,
    )
    methods = {"mdbm": mdbm, "probe": probe, **refs}
    details = {
        "status": "ok",
        "task": context.task.name,
        "targets": targets,
        "answer_tokens": n_tokens,
        "position": config.position,
        "scores": {name: result.scores for name, result in methods.items()},
        "selected_latents": {name: result.selected for name, result in methods.items()},
        "pairs": data.pair_counts(),
        "survivors": instances.survivors,
        # CPU seconds of this process (wall time on an idle machine with one thread); a
        # reference's and the instances' are those of the SAE whose run computed them
        "timing": {name: result.timing() for name, result in methods.items()},
        "reference_cpu_seconds": reference_seconds(context.shared, key, hook),
        "instances_cpu_seconds": round(context.shared[("ravel-instances-seconds", key)], 3),
    }
    if note := _inert_column(methods, config, hook):
        details["note"] = note
        warnings.warn(f"ravel: {note}", SaebenchWarning, stacklevel=2)
    seeds = {}
    if len(config.seeds) > 1:
        details["per_seed"] = {name: result.per_seed for name, result in methods.items()}
        seeds = seed_metrics(methods, len(config.seeds))
    return EvalResult(metrics=summary(methods, data.pair_counts()), details=details, seeds=seeds)


def _inert_column(methods: dict[str, MethodResult], config: RavelConfig, hook: str) -> str | None:
    """A warning when even the skyline (DAS, trained to change the answer) changes almost no
    answer: the model does not read the attributes from the patched column at this hook, so
    every method scores cause 0 and isolation 1, and the scores tell nothing apart."""
    if "das" not in methods:
        return None
    cause = mean_over_targets(methods["das"].scores, "entity", "cause")
    if cause is None or cause >= 0.05:
        return None
    where = "the entity's last token" if config.position == "entity" else "the last token"
    hint = (
        "; --set ravel.position=last patches the prompt's last token"
        if config.position == "entity"
        else ""
    )
    return (
        f"even DAS changes {cause:.0%} of the answers by patching {hook} at {where}: this model "
        f"does not read the attributes there{hint}"
    )


def summary(methods: dict[str, MethodResult], counts: dict[str, int]) -> RavelMetrics:
    def mean(method: str, split: str, key: str = "disentanglement"):
        result = methods.get(method)
        return None if result is None else mean_over_targets(result.scores, split, key)

    main = mean("mdbm", "entity")
    return RavelMetrics(
        disentanglement=main,
        cause=mean("mdbm", "entity", "cause"),
        isolation=mean("mdbm", "entity", "isolation"),
        disentanglement_context=mean("mdbm", "context"),
        cause_context=mean("mdbm", "context", "cause"),
        isolation_context=mean("mdbm", "context", "isolation"),
        disentanglement_probe=mean("probe", "entity"),
        disentanglement_neurons=mean("neurons", "entity"),
        disentanglement_pca=mean("pca", "entity"),
        disentanglement_das=mean("das", "entity"),
        relative_to_neurons=difference(main, mean("neurons", "entity")),
        relative_to_das=difference(main, mean("das", "entity")),
        selected_latents=_mean_count(methods["mdbm"]),
        selected_latents_probe=_mean_count(methods["probe"]),
        n_pairs_train=counts["train"],
        n_pairs_entity=counts["entity"],
        n_pairs_context=counts["context"],
    )


def _mean_count(result: MethodResult) -> float | None:
    counts = [c for per_seed in result.selected.values() for c in per_seed]
    return sum(counts) / len(counts) if counts else None


def seed_metrics(methods: dict[str, MethodResult], n_seeds: int) -> dict[str, list]:
    """Per-seed values of the seeded metrics (targets averaged within each seed)."""
    names = {
        "mdbm": "disentanglement",
        "neurons": "disentanglement_neurons",
        "pca": "disentanglement_pca",
        "das": "disentanglement_das",
    }
    out = {}
    for method, metric_name in names.items():
        if method not in methods:
            continue
        for split in EVAL_SPLITS:
            per_seed = methods[method].per_seed
            values = []
            for i in range(n_seeds):
                scores = {t: {split: runs[split][i]} for t, runs in per_seed.items()}
                values.append(mean_over_targets(scores, split, "disentanglement"))
            suffix = "" if split == "entity" else f"_{split}"
            out[metric_name + suffix] = values
    return out
