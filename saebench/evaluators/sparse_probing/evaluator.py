"""The ``sparse_probing`` plug-in: a prompt evaluator that captures the task's splits and
fits the raw-activation probes once (:func:`.run.prepare`), then probes each SAE's latents
(:func:`.run.evaluate`). Loads no torch.

Example:
    >>> saebench.evaluate("zoo:resid-topk-16", model="zoo", evaluators=["sparse_probing"],
    ...                   configs={"sparse_probing": {"task": "zoo-cities"}})
"""

from __future__ import annotations

from typing import Any

from saebench.evaluators import EvalContext, EvalResult, Needs, PromptEvaluator, TaskRequest
from saebench.evaluators.sparse_probing.config import (
    QUICKSTART_CONFIG,
    SparseProbingConfig,
    SparseProbingMetrics,
)


class SparseProbingEvaluator(PromptEvaluator):
    """Top-k sparse probes on SAE latents for a task's attributes, beside the raw activations.

    Example:
        >>> saebench.evaluate("zoo:resid-topk-16", model="zoo", evaluators=["sparse_probing"],
        ...                   configs={"sparse_probing": {"task": "zoo-cities"}})
    """

    # 2: latents chosen by standardised mean difference, entities counted, probes with too
    # few test rows skipped, intervals and nulls, raw probes as a reference record
    version = "2"
    description = "k-sparse probes (latents of largest mean difference) for task attributes"
    Config = SparseProbingConfig
    Metrics = SparseProbingMetrics
    main_metric = "sae_accuracy_k1"
    headline = ("sae_accuracy_k1", "sae_accuracy_k5")
    needs = Needs(activations=False, model_runner=True, task=TaskRequest(name="zoo-cities"))
    quickstart = QUICKSTART_CONFIG

    @classmethod
    def needs_for(cls, config: SparseProbingConfig) -> Needs:
        return Needs(
            activations=False,
            model_runner=True,
            task=TaskRequest(name=config.task, config=config.task_config),
        )

    def prepare(self, context: EvalContext) -> Any:
        from saebench.evaluators.sparse_probing.run import prepare

        return prepare(self.config, context)

    def evaluate(self, sae, prepared: Any, context: EvalContext) -> EvalResult:
        from saebench.evaluators.sparse_probing.run import evaluate

        return evaluate(self.config, sae, prepared, context)
