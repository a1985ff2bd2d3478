"""The ``scr`` and ``tpp`` plug-ins: prompt evaluators with one shared preparation
(:func:`.prepare.prepare`: the probe sets' activations and SAEBench's probes on them) and a
per-SAE evaluation (:func:`.result.evaluate`). Load no torch.

Example:
    >>> saebench.evaluate("zoo:resid-topk-16", model="zoo", evaluators=["scr", "tpp"],
    ...                   configs={"scr": {"task": "zoo-cities"}, "tpp": {"task": "zoo-cities"}})
"""

from __future__ import annotations

from typing import Any, ClassVar

from saebench.evaluators import EvalContext, EvalResult, Needs, PromptEvaluator, TaskRequest
from saebench.evaluators.scr_tpp.config import (
    AUDIT_WARNING,
    HEADLINE_N,
    QUICKSTART_SCR,
    QUICKSTART_TPP,
    ScrConfig,
    ScrMetrics,
    TppConfig,
    TppMetrics,
)


class _ScrTpp(PromptEvaluator):
    kind_name: ClassVar[str] = ""
    # the null's draws change only the per-SAE part
    sae_only_fields = ("null_draws",)

    @classmethod
    def needs_for(cls, config) -> Needs:
        return Needs(
            activations=False,
            model_runner=True,
            task=TaskRequest(name=config.task, config=config.task_config),
        )

    def finish(self) -> EvalResult:
        meta = self.context.sae.meta
        if meta.is_transcoder:
            return self.skipped(
                f"skipped: a transcoder reads {meta.hook_name} and writes {meta.output_hook}; "
                f"{self.kind_name} ablates latents of the activation the probes read"
            )
        from saebench.toolkit.determinism import fixed_threads

        with fixed_threads():  # probe training and float sums in a fixed order
            return super().finish()

    @classmethod
    def skipped(cls, status: str) -> EvalResult:
        """A record with no scores and the reason in ``details["status"]``."""
        return EvalResult.skipped(cls.Metrics, status, warning=AUDIT_WARNING)

    def prepare(self, context: EvalContext) -> Any:
        from saebench.evaluators.scr_tpp.prepare import prepare

        return prepare(self.kind_name, self.config, context)

    def evaluate(self, sae, prepared, context: EvalContext) -> EvalResult:
        from saebench.evaluators.scr_tpp.result import evaluate

        return evaluate(self.kind_name, self.config, sae, prepared)


class ScrEvaluator(_ScrTpp):
    """SAEBench's spurious correlation removal: ablate the SAE latents a spurious-attribute
    probe attributes most to, and measure how much a biased probe recovers toward an
    unbiased one. Unreliable by the Chanin 2026 audit: reproduce SAEBench, do not rank."""

    kind_name = "scr"
    version = "1"
    description = (
        "SAEBench SCR: biased-probe recovery after ablating spurious latents (audit: unreliable)"
    )
    Config = ScrConfig
    Metrics = ScrMetrics
    main_metric = f"scr_metric_threshold_{HEADLINE_N}"
    headline = (main_metric, "scr_metric_threshold_5", "scr_metric_threshold_50")
    needs = Needs(activations=False, model_runner=True, task=TaskRequest(name="sae-probes-pairs"))
    quickstart = QUICKSTART_SCR

    @classmethod
    def main_metric_for(cls, config) -> str:
        return f"scr_metric_threshold_{config.headline_n}"


class TppEvaluator(_ScrTpp):
    """SAEBench's targeted probe perturbation: ablate a class's top latents; the drop of its
    probe's accuracy minus the mean drop of the other classes' probes. Unreliable by the
    Chanin 2026 audit: reproduce SAEBench, do not rank."""

    kind_name = "tpp"
    version = "1"
    description = "SAEBench TPP: targeted minus untargeted probe-accuracy drop (audit: unreliable)"
    Config = TppConfig
    Metrics = TppMetrics
    main_metric = f"tpp_threshold_{HEADLINE_N}_total_metric"
    headline = (main_metric, "tpp_threshold_5_total_metric", "tpp_threshold_50_total_metric")
    needs = Needs(activations=False, model_runner=True, task=TaskRequest(name="sae-probes-pairs"))
    quickstart = QUICKSTART_TPP

    @classmethod
    def main_metric_for(cls, config) -> str:
        return f"tpp_threshold_{config.headline_n}_total_metric"
