"""The record of one SAE's autointerp run: metrics, their intervals, nulls and coverage,
sample sizes, and whether the record is partial.

Means are over the latents that have the scorer's score; each scorer's ``coverage`` says
how many of the sampled latents that is (dense latents have no detection score, dead and
rare ones none at all). Intervals are percentile bootstraps over latents
(:func:`saebench.toolkit.intervals.bootstrap`): a latent's score already carries the noise
of its own examples, so resampling latents alone estimates the variance of the mean over
latents (resampling examples as well would count that noise twice). Coverage gets a Wilson
interval; the unchanged fraction a bootstrap over latents of their pooled pairs.

Nulls: balanced accuracy and AUROC 0.5 (a judge answering at random); F1 the expected F1 of
a judge saying 1 at random half the time, ``2 pi / (2 pi + 1)`` for a latent whose scored
examples are a fraction ``pi`` positive, averaged over latents; intervention the score of
other latents' explanations on the same passages (surprisal) or 0.5 (choice).

Example:
    >>> result = result_of(plans, config, usage, details, "surprisal", null=0.01)
    >>> result.intervals["detection_balanced_accuracy"].n      # latents with a score
"""

from __future__ import annotations

import random
from collections import Counter

from saebench.evaluators import EvalResult
from saebench.evaluators.autointerp.config import AutointerpMetrics
from saebench.toolkit.intervals import bootstrap, wilson

USAGE = ("requests", "cache_hits", "prompt_tokens", "completion_tokens")
KEYS = {
    "detection": ("balanced_accuracy", "f1", "auroc"),
    "fuzzing": ("balanced_accuracy", "f1"),
    "intervention": ("score",),
}
_CHANCE = {"balanced_accuracy": 0.5, "auroc": 0.5}


def metric_name(scorer: str, key: str) -> str:
    return "intervention_score" if scorer == "intervention" else f"{scorer}_{key}"


def is_lost(reply) -> bool:
    """A request the judge never answered (its absence changes what is scored); a server
    that lacks prompt logprobs is a capability, not a loss."""
    from saebench.llm.client import LlmFailure

    return isinstance(reply, LlmFailure) and reply.kind != "unsupported"


def hash_seed(seed: int, name: str) -> int:
    return random.Random(f"{seed}/{name}").getrandbits(32)


def result_of(plans, config, usage: dict, details: dict, mode: str | None, null) -> EvalResult:
    statuses = Counter(p.status for p in plans)
    n = len(plans)
    metrics: dict = {
        "n_latents_sampled": n,
        "n_latents_scored": statuses["scored"],
        "n_dense": statuses["dense"],
        "n_dead": statuses["dead"],
        "n_rare": statuses["rare"],
        "n_explain_failed": statuses["explain_failed"],
        "n_failed_examples": _failed_examples(plans),
        "n_lost_requests": sum(details["lost_requests"].values()),
    }
    metrics.update({f"llm_{name}": usage[name] for name in USAGE})
    result = EvalResult(metrics=AutointerpMetrics(), details=details)
    result.sample_sizes["latents"] = n
    for scorer in config.scorers:
        _scorer_metrics(plans, config, scorer, metrics, result)
    if "intervention" in config.scorers:
        _intervention_extras(plans, metrics, result, mode, null)
    result.metrics = AutointerpMetrics(**metrics)
    _mark_partial(result, details)
    return result


def _scorer_metrics(plans, config, scorer: str, metrics: dict, result: EvalResult) -> None:
    have = [p for p in plans if scorer in p.scores]
    n = len(plans)
    metrics[f"{scorer}_coverage"] = len(have) / n if n else None
    result.intervals[f"{scorer}_coverage"] = wilson(len(have), n, unit="latents")
    result.sample_sizes[f"latents_{scorer}"] = len(have)
    result.sample_sizes[_unit_of(scorer)] = sum(p.scores[scorer]["n"] for p in have)
    for key in KEYS[scorer]:
        name = metric_name(scorer, key)
        values = [p.scores[scorer][key] for p in have if p.scores[scorer][key] is not None]
        metrics[name] = sum(values) / len(values) if values else None
        result.intervals[name] = bootstrap(
            values,
            unit="latents",
            seed=hash_seed(config.seed, name),
            n_resamples=config.bootstrap_resamples,
        )
        if key in _CHANCE:
            result.nulls[name] = _CHANCE[key]
        elif key == "f1":
            result.nulls[name] = _chance_f1([p.scores[scorer] for p in have])


def _unit_of(scorer: str) -> str:
    return "passages_intervention" if scorer == "intervention" else f"examples_{scorer}"


def _chance_f1(scores: list[dict]) -> float | None:
    values = []
    for score in scores:
        if score.get("f1") is None or not score.get("n"):
            continue
        pi = score.get("positives", 0) / score["n"]
        values.append(2 * pi / (2 * pi + 1))
    return sum(values) / len(values) if values else None


def _intervention_extras(plans, metrics: dict, result: EvalResult, mode, null) -> None:
    steered = [p.intervention for p in plans if p.intervention]
    kls = [s["kl"] for s in steered]
    metrics["intervention_kl"] = sum(kls) / len(kls) if kls else None
    pairs = [pair for s in steered for pair in s["passages"]]
    same = sum(pair["unchanged"] for pair in pairs)
    metrics["intervention_unchanged"] = same / len(pairs) if pairs else None
    # pairs of one latent share its steering: resample latents, pool their pairs
    rows = [[sum(p["unchanged"] for p in s["passages"]), len(s["passages"])] for s in steered]
    result.intervals["intervention_unchanged"] = bootstrap(
        rows, lambda r: r[:, 0].sum() / r[:, 1].sum(), unit="latents"
    )
    result.nulls["intervention_score"] = null
    result.sample_sizes["passages_steered"] = len(pairs)


def _failed_examples(plans) -> int:
    return sum(
        count
        for p in plans
        for kind, count in p.failures.items()
        if not kind.startswith("explain/") and kind != "intervention/kl_unreached"
    )


def _mark_partial(result: EvalResult, details: dict) -> None:
    """Partial when any request was lost (see the run module): counts in the details."""
    lost = {step: n for step, n in details["lost_requests"].items() if n}
    if not lost:
        return
    parts = ", ".join(f"{step} {n}" for step, n in lost.items())
    total = sum(lost.values())
    result.status = "partial"
    details["partial_reason"] = f"{total} judge requests were never answered ({parts})"
