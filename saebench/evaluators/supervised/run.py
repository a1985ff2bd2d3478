"""The evaluator's work: the preparation (study, supervised dictionary, baselines and their
reference records), made once per site by the framework, and one SAE's record on top of it.

Example:
    >>> prepared = prepare_study(task, runner, config, sae.meta, context.once)
    >>> result = sae_result(prepared, sae, config)        # an EvalResult
"""

from __future__ import annotations

from saebench.evaluators import EvalResult, Reference
from saebench.evaluators.supervised.config import SupervisedMetrics
from saebench.evaluators.supervised.numbers import dictionary_numbers, supervised_numbers
from saebench.evaluators.supervised.scoring import (
    baseline_dictionaries,
    score_sae,
    score_supervised,
)
from saebench.evaluators.supervised.study import Study, TooFewPrompts, build_study


def _supervised_reference(study: Study, supervised: dict, config, hook: str) -> Reference:
    """The supervised dictionary as a reference: its edit is the aware edit of its own codes."""
    return Reference(
        method="supervised",
        hook_name=hook,
        details={"edits_per_builder": supervised["details"]["edits_per_builder"]},
        size=sum(len(codes) for codes in study.dictionary.codes.values()),
        **supervised_numbers(study, supervised, config),
    )


def prepare_study(task, runner, config, meta, once=None) -> dict:
    """Study, supervised and baseline scores at the site of ``meta``; ``once`` (the
    context's) shares the filtering of prompts across sites."""
    try:
        study = build_study(task, runner, config, meta, once)
    except TooFewPrompts as exc:
        return {"status": f"skipped: {exc}"}
    if abs(study.ld_clean - study.ld_mean) < 1e-6:
        return {
            "status": f"skipped: mean-ablating {meta.hook_name} at position {study.position!r} "
            "does not change the task metric (no layer after the hook reads that position); "
            "choose another position or hook"
        }
    supervised = score_supervised(study)
    dictionaries = baseline_dictionaries(study, config.baselines, config.seed)
    references = [_supervised_reference(study, supervised, config, meta.hook_name)]
    for name, dictionary in dictionaries.items():
        scored = score_sae(study, dictionary, config)
        record = dictionary_numbers(study, scored, supervised, config)
        nulls = record.pop("nulls")  # a Reference has no nulls field: kept in its details
        references.append(
            Reference(
                method=name,
                hook_name=meta.hook_name,
                details={"edits": scored["details"]["edits"], "nulls": nulls},
                size=int(dictionary.d_sae),
                **record,
            )
        )
    return {"status": "ok", "study": study, "supervised": supervised, "references": references}


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
                "rare_values": p.rare,
                "edited": len(p.rows),
                "patched_is_real": p.patched_is_real,
            }
            for name, p in study.pairs.items()
        },
        "attribute_strength": {a: round(v, 4) for a, v in study.strength.items()},
    }


def sae_result(prepared: dict, sae, config) -> EvalResult:
    """One SAE's record content, with the supervised dictionary and the baselines beside it
    as references (records of their own)."""
    study: Study = prepared["study"]
    width = study.eval_acts.shape[1]
    if sae.d_in != width:
        return EvalResult(
            metrics=SupervisedMetrics(),
            details={"status": f"skipped: SAE d_in={sae.d_in} but the hook has width {width}"},
        )
    mine = score_sae(study, sae, config)
    numbers = dictionary_numbers(study, mine, prepared["supervised"], config)
    details = {
        "status": "ok",
        **_common(study),
        **mine["details"],
        "approximation": {
            k: mine["metrics"][k] for k in ("logit_diff_reconstructed", "logit_diff_removed")
        },
    }
    return EvalResult(
        metrics=SupervisedMetrics(**numbers["metrics"]),
        details=details,
        intervals=numbers["intervals"],
        nulls=numbers["nulls"],
        sample_sizes=numbers["sample_sizes"],
        references=list(prepared["references"]),
    )
