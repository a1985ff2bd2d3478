"""The ``autointerp`` evaluator's config and metrics: a torch-free leaf that the evaluator
class and the record's summary both import (see :mod:`saebench.evaluators.autointerp`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from saebench.evaluators import EvalConfig, EvalMetrics, metric

Scorer = Literal["detection", "fuzzing", "intervention"]


class AutointerpConfig(EvalConfig):
    """Which latents, which examples, which scorers (docs/evaluators/autointerp.md).

    Example:
        >>> AutointerpConfig(n_latents=20, scorers=["detection", "fuzzing"])
    """

    scorers: list[Scorer] = ["detection", "fuzzing", "intervention"]
    n_latents: int = Field(100, ge=1)  # latents sampled (seeded) among all d_sae
    latents: list[int] | None = None  # explicit latent indices instead of a sample
    seed: int = 0  # latent sample, example draws, shuffles, A/B order, bootstrap
    window_tokens: int = Field(24, ge=2)  # tokens per example window (peak 3/4 in)
    min_firing: int = Field(10, ge=1)  # a latent active on fewer tokens is "rare"
    explain_top: int = Field(8, ge=0)  # top (non-overlapping) windows shown to the explainer
    explain_quantile: int = Field(4, ge=0)  # quantile windows shown to the explainer
    score_activating: int = Field(10, ge=1)  # held-out activating windows per latent, scored
    score_negative: int = Field(10, ge=1)  # checked non-activating windows, detection only
    n_quantiles: int = Field(5, ge=1)  # rank slices the quantile windows are drawn across
    reservoir: int = Field(128, ge=1)  # activating tokens sampled per latent for quantiles
    negative_candidates: int = Field(512, ge=1)  # aligned windows checked for negatives
    highlight_fraction: float = Field(0.3, gt=0, le=1)  # marked: >= this x the window max
    examples_per_prompt: int = Field(10, ge=1)  # detection / fuzzing examples per request
    detection_logprobs: bool = True  # ask for logprobs (AUROC) on detection requests
    explain_max_tokens: int = Field(200, ge=8)  # room for short reasoning + the answer
    intervention_prompts: int = Field(4, ge=1)  # steered prompts per latent (its windows)
    intervention_prompt_tokens: int = Field(12, ge=1)  # at most, up to the first active token
    intervention_new_tokens: int = Field(8, ge=1)  # sampled tokens generated after it
    intervention_temperature: float = Field(1.0, gt=0)  # sampling temperature (the paper's 1)
    intervention_null: bool = True  # surprisal: score other latents' explanations too
    target_kl: float = Field(0.5, gt=0)  # next-token KL (nats) the steering strength reaches
    kl_search_steps: int = Field(14, ge=1)  # bisection steps on log alpha
    intervention_chunk: int = Field(32, ge=1)  # latents steered per batched run
    bootstrap_resamples: int = Field(1000, ge=10)  # for the 95% intervals
    details_examples: bool = True  # keep every example's tokens and acts in the details

    @field_validator("scorers")
    @classmethod
    def _check_scorers(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one of detection, fuzzing, intervention")
        return list(dict.fromkeys(value))

    @field_validator("latents")
    @classmethod
    def _check_latents(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or min(value) < 0):
            raise ValueError("must be a non-empty list of latent indices >= 0")
        return None if value is None else sorted(set(value))

    @model_validator(mode="after")
    def _check_explainer_input(self) -> AutointerpConfig:
        if self.explain_top + self.explain_quantile == 0:
            raise ValueError("explain_top + explain_quantile must be at least 1")
        return self


class AutointerpMetrics(EvalMetrics):
    """Means over the latents that have each score; intervals, nulls and coverage sample
    sizes are in the record's ``intervals``, ``nulls`` and ``sample_sizes``."""

    detection_balanced_accuracy: float | None = metric(
        "detection: (TPR + TNR) / 2 of the judge's 0/1 answers, mean over detected latents", True
    )
    detection_f1: float | None = metric("detection F1, mean over detected latents", True)
    detection_auroc: float | None = metric(
        "detection AUROC of P('1') from logprobs, mean over latents that have it", True
    )
    detection_coverage: float | None = metric(
        "fraction of sampled latents with a detection score", None
    )
    fuzzing_balanced_accuracy: float | None = metric(
        "fuzzing: (TPR + TNR) / 2, right vs wrong marks, mean over fuzzed latents", True
    )
    fuzzing_f1: float | None = metric("fuzzing F1, mean over fuzzed latents", True)
    fuzzing_coverage: float | None = metric(
        "fraction of sampled latents with a fuzzing score", None
    )
    intervention_score: float | None = metric(
        "surprisal mode: nats the explanation gains after steering; choice mode: accuracy",
        True,
    )
    intervention_coverage: float | None = metric(
        "fraction of sampled latents with an intervention score", None
    )
    intervention_kl: float | None = metric("mean next-token KL reached by the steering", None)
    intervention_unchanged: float | None = metric(
        "fraction of steered continuations equal to their clean ones", None
    )
    n_latents_sampled: float = metric("latents sampled", None, 0)
    n_latents_scored: float = metric("latents explained and sent to every scorer", None, 0)
    n_dense: float = metric("latents with no checked negative: never detected", None, 0)
    n_dead: float = metric("sampled latents never active on the tokens", None, 0)
    n_rare: float = metric("sampled latents active on fewer than min_firing tokens", None, 0)
    n_explain_failed: float = metric("latents whose explanation failed (not scored)", None, 0)
    n_failed_examples: float = metric("examples lost to failed or unparsable answers", None, 0)
    n_lost_requests: float = metric("requests the judge never answered (partial record)", None, 0)
    llm_requests: float = metric("HTTP requests sent to the judge", None, 0)
    llm_cache_hits: float = metric("answers read from the response cache", None, 0)
    llm_prompt_tokens: float = metric("prompt tokens, as the server counts them", None, 0)
    llm_completion_tokens: float = metric("completion tokens, as the server counts them", None, 0)
