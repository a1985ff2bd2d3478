"""The evaluator's work: the shared part (study, supervised dictionary, baselines) made once
per key, and one SAE's metrics and details on top of it.

Example:
    >>> shared = shared_part(task, runner, config, sae.meta, context.shared)
    >>> result = sae_result(shared, sae, config)        # an EvalResult
"""

from __future__ import annotations

from saebench.evaluators import EvalResult
from saebench.evaluators.supervised.evaluator import SupervisedMetrics, shared_key
from saebench.evaluators.supervised.scoring import (
    baseline_dictionaries,
    score_sae,
    score_supervised,
)
from saebench.evaluators.supervised.study import Study, TooFewPrompts, build_study

_COMPARED = ("sufficiency", "necessity", "edit_accuracy", "edit_magnitude")


def shared_part(task, runner, config, meta, shared: dict) -> dict:
    """Study, supervised and baseline scores at this hook, computed once per key."""
    key = shared_key(config, meta)
    if key not in shared:
        shared[key] = _compute_shared(task, runner, config, meta, shared)
    return shared[key]


def _compute_shared(task, runner, config, meta, shared: dict) -> dict:
    try:
        study = build_study(task, runner, config, meta.hook_name, meta, shared)
    except TooFewPrompts as exc:
        return {"status": f"skipped: {exc}"}
    if abs(study.ld_clean - study.ld_mean) < 1e-6:
        return {
            "status": f"skipped: mean-ablating {meta.hook_name} at position {study.position!r} "
            "does not change the task metric (no layer after the hook reads that position); "
            "choose another position or hook"
        }
    baselines = {
        name: score_sae(study, dictionary, config)
        for name, dictionary in baseline_dictionaries(study, config.baselines, config.seed).items()
    }
    return {
        "status": "ok",
        "study": study,
        "supervised": score_supervised(study),
        "baselines": baselines,
    }


def _common(study: Study) -> dict:
    effect = study.ld_clean - study.ld_mean
    weak = abs(effect) < 0.1 * max(abs(study.ld_clean), 1e-9)
    return {
        # ratios over a small effect are unstable: say so beside the numbers
        "node_effect": effect,
        "note": "weak node: mean ablation moves the task metric by under 10%; "
        "approximation ratios are unstable"
        if weak
        else "",
        "position": study.position,
        "metric_builder": study.metric_builder,
        "attribute_sets": ["+".join(s) for s in study.dictionary.sets],
        "dictionary": study.dictionary.method,
        "prompts": study.counts,
        "pairs": {
            name: {
                "considered": p.considered,
                "edited": len(p.rows),
                "patched_is_real": p.patched_is_real,
            }
            for name, p in study.pairs.items()
        },
        "attribute_strength": {a: round(v, 4) for a, v in study.strength.items()},
    }


def sae_result(shared: dict, sae, config) -> EvalResult:
    """One SAE's record content; comparison values of the supervised dictionary beside."""
    study: Study = shared["study"]
    width = study.eval_acts.shape[1]
    if sae.d_in != width:
        return EvalResult(
            metrics=SupervisedMetrics(),
            details={"status": f"skipped: SAE d_in={sae.d_in} but the hook has width {width}"},
        )
    mine = score_sae(study, sae, config)
    supervised = shared["supervised"]["metrics"]
    m = mine["metrics"]
    metrics = SupervisedMetrics(
        edit_accuracy_aware=m["edit_accuracy_aware"],
        edit_accuracy_agnostic=m["edit_accuracy_agnostic"],
        edit_accuracy_supervised=supervised["edit_accuracy"],
        edit_magnitude_aware=m["edit_magnitude_aware"],
        edit_magnitude_agnostic=m["edit_magnitude_agnostic"],
        edit_magnitude_supervised=supervised["edit_magnitude"],
        edit_size_aware=m["edit_size_aware"],
        edit_size_agnostic=m["edit_size_agnostic"],
        sufficiency_sae=m["sufficiency"],
        sufficiency_supervised=supervised["sufficiency"],
        necessity_sae=m["necessity"],
        necessity_supervised=supervised["necessity"],
        mean_best_f1=m["mean_best_f1"],
        fraction_values_covered=m["fraction_values_covered"],
        occluded_values=m["occluded_values"],
        oversplit_values=m["oversplit_values"],
        **{
            f"edit_accuracy_aware_{name}": b["metrics"]["edit_accuracy_aware"]
            for name, b in shared["baselines"].items()
        },
        logit_diff_clean=study.ld_clean,
        logit_diff_mean_ablated=study.ld_mean,
        eval_prompts=len(study.eval),
        edit_pairs=sum(len(p.rows) for p in study.pairs.values()),
    )
    details = {
        "status": "ok",
        **_common(study),
        **mine["details"],
        "approximation": {k: m[k] for k in ("logit_diff_reconstructed", "logit_diff_removed")},
        "supervised": shared["supervised"],
        "baselines": {
            name: {"metrics": b["metrics"], "edits": b["details"]["edits"]}
            for name, b in shared["baselines"].items()
        },
    }
    return EvalResult(metrics=metrics, details=details)
