"""The ``absorption`` plug-in: a prompt evaluator that captures the first-letter prompts and
fits the ground-truth probe once per site (:func:`.run.prepare`), then measures each SAE
(:func:`.run.evaluate`). Loads no torch.

Example:
    >>> saebench.evaluate("zoo:smollm2-resid-topk-32", model="smollm2-135m",
    ...                   evaluators=["absorption"])
"""

from __future__ import annotations

import time
from typing import Any

from saebench.evaluators import EvalContext, EvalResult, Needs, PromptEvaluator
from saebench.evaluators.absorption.config import (
    QUICKSTART_CONFIG,
    AbsorptionConfig,
    AbsorptionMetrics,
)


class AbsorptionEvaluator(PromptEvaluator):
    """Feature absorption on the first-letter task (Chanin et al. 2024; SAEBench).

    Example:
        >>> saebench.evaluate("zoo:resid-topk-16", model="zoo", evaluators=["absorption"])
    """

    version = "1"
    description = "feature absorption on first letters (Chanin et al. 2024, SAEBench)"
    Config = AbsorptionConfig
    Metrics = AbsorptionMetrics
    main_metric = "mean_absorption_fraction"
    headline = ("mean_absorption_fraction", "mean_full_absorption", "probe_accuracy")
    # the task is built from the model's own tokenizer in prepare, so none is planned
    needs = Needs(activations=False, model_runner=True)
    quickstart = QUICKSTART_CONFIG
    # what only the per-SAE part reads: SAEs run with other values share one preparation
    sae_only_fields = (
        "min_probe_f1",
        "min_letters",
        "max_k",
        "f1_jump",
        "sparse_l1",
        "sparse_batch_size",
        "sparse_epochs",
        "random_control",
    )

    def finish(self) -> EvalResult:
        sae = self.context.sae
        if sae.meta.is_transcoder:
            return EvalResult(
                metrics=AbsorptionMetrics(),
                details={
                    "status": f"skipped: a transcoder reads {sae.meta.hook_name} and writes "
                    f"{sae.meta.output_hook}; absorption compares decoder rows with a probe "
                    "of the activation the dictionary reads"
                },
            )
        from saebench.toolkit.determinism import fixed_threads

        began = time.process_time()
        with fixed_threads():  # probe training follows float order, which threads change
            result = super().finish()
        result.details["cpu_seconds"] = round(time.process_time() - began, 3)
        return result

    def prepare(self, context: EvalContext) -> Any:
        from saebench.evaluators.absorption.run import prepare

        return prepare(self.config, context)

    def evaluate(self, sae, prepared: Any, context: EvalContext) -> EvalResult:
        from saebench.evaluators.absorption.run import evaluate

        return evaluate(self.config, sae, prepared, context)
