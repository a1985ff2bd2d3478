"""The ``sae_probes`` plug-in: a prompt evaluator that captures the task's splits and plans
every probe's rows once (:func:`.run.prepare`), fits the raw-activation probes and the dense
baselines once per hook, then probes each SAE's latents (:func:`.run.evaluate`). Loads no torch.

Example:
    >>> saebench.evaluate("zoo:smollm2-resid-topk-32", model="smollm2-135m",
    ...                   evaluators=["sae_probes"])
"""

from __future__ import annotations

from typing import Any

from saebench.evaluators import EvalContext, EvalResult, Needs, PromptEvaluator, TaskRequest
from saebench.evaluators.sae_probes.config import (
    QUICKSTART_CONFIG,
    SaeProbesEvalConfig,
    SaeProbesMetrics,
)


class SaeProbesEvaluator(PromptEvaluator):
    """k-sparse L1 probes with cross-validated C on the sae-probes datasets (Kantamneni et al.
    2025), beside the same probe on raw activations and the paper's dense baselines.

    Example:
        >>> saebench.evaluate("zoo:smollm2-resid-topk-32", model="smollm2-135m",
        ...                   evaluators=["sae_probes"],
        ...                   configs={"sae_probes": {"regimes": ["scarcity"]}})
    """

    version = "1"
    description = "sae-probes: k-sparse L1 probes (CV'd C) per dataset, four regimes, baselines"
    Config = SaeProbesEvalConfig
    Metrics = SaeProbesMetrics
    main_metric = "test_auc"
    headline = ("test_auc", "test_auc_k1", "scarcity_auc")
    needs = Needs(activations=False, model_runner=True, task=TaskRequest(name="sae-probes"))
    quickstart = QUICKSTART_CONFIG

    @classmethod
    def needs_for(cls, config: SaeProbesEvalConfig) -> Needs:
        if config.skip is not None:  # nothing to read: no task, no model runner
            return Needs(activations=False)
        return Needs(
            activations=False,
            model_runner=True,
            task=TaskRequest(name=config.task, config=config.task_config),
        )

    def finish(self) -> EvalResult:
        if self.config.skip is not None:
            from saebench.evaluators.sae_probes.config import SaeProbesMetrics

            return EvalResult.skipped(SaeProbesMetrics, self.config.skip)
        return super().finish()

    def prepare(self, context: EvalContext) -> Any:
        from saebench.evaluators.sae_probes.run import prepare

        return prepare(self.config, context)

    def evaluate(self, sae, prepared: Any, context: EvalContext) -> EvalResult:
        from saebench.evaluators.sae_probes.run import evaluate

        return evaluate(self.config, sae, prepared, context)
