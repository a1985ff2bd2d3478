"""The ``supervised`` evaluator: an SAE against the supervised feature dictionary of a
labelled task (Makelov, Lange & Nanda 2024, arXiv 2405.08366) on three axes, approximation,
control and interpretability, at the SAE's hook and one task position.

A prompt evaluator: what does not depend on the SAE (the prompts the model answers, their
activations, the supervised dictionary, the reference dictionaries neurons / PCA / random
and their scores) is made once per (source, site, task, config) in :meth:`prepare`, and
:meth:`evaluate` scores each SAE against it. This module loads no torch; the work is in the
sibling modules, imported when it runs.

Example:
    >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo", dataset="zoo",
    ...                             evaluators=["supervised"],
    ...                             configs={"supervised": {"position": "end"}})
    >>> records[0].metrics["edit_accuracy_aware"], records[0].intervals["edit_accuracy_aware"]
    >>> [r.sae.uri for r in records[1:]]   # reference:supervised/supervised@..., neurons, ...
"""

from __future__ import annotations

from typing import Any

from saebench.errors import SaebenchError
from saebench.evaluators import EvalResult, Needs, PromptEvaluator, TaskRequest
from saebench.evaluators.supervised.config import (
    QUICKSTART_CONFIG,
    SupervisedConfig,
    SupervisedMetrics,
)


class SupervisedEvaluator(PromptEvaluator):
    """An SAE against supervised feature dictionaries of a labelled task.

    The main metric is the interpretation-aware edit accuracy: it is the axis on which the
    supervised dictionary sets the standard (it edits by its own codes) and it needs both
    latents that match attribute values (interpretability) and a causal effect when those
    latents are swapped (control); reconstruction alone (sufficiency) is met by any exact
    basis, so it cannot say how close an SAE is to the supervised features.
    """

    # 2: intervals and nulls; references as records of their own; patched_is_real over the
    # scored pairs; edit sizes chosen on held-out pairs; only values with enough prompts
    version = "2"
    description = "approximation, control and interpretability against supervised dictionaries"
    Config = SupervisedConfig
    Metrics = SupervisedMetrics
    main_metric = "edit_accuracy_aware"
    headline = ("edit_accuracy_aware", "sufficiency", "mean_best_f1")
    quickstart = QUICKSTART_CONFIG
    # none: the reference dictionaries are scored in the preparation with the same edit
    # sizes, F1 threshold and seed as the SAE, so every field changes the shared part
    sae_only_fields = ()

    @classmethod
    def needs_for(cls, config: SupervisedConfig) -> Needs:
        return Needs(
            activations=False,
            model_runner=True,
            task=TaskRequest(name=config.task, config=config.task_config),
        )

    def finish(self) -> EvalResult:
        ctx = self.context
        if ctx.task is None or ctx.runner is None:
            raise SaebenchError("supervised needs a task and a model runner (run it via evaluate)")
        # before preparing: a site read only by transcoders is never studied
        reason = _unsupported(ctx.sae)
        return EvalResult.skipped(SupervisedMetrics, reason) if reason else super().finish()

    def prepare(self, context) -> dict[str, Any]:
        """The study, the supervised dictionary's and the references' scores at the site."""
        from saebench.evaluators.supervised.run import prepare_study

        return prepare_study(
            context.task, context.runner, self.config, context.sae.meta, context.once
        )

    def evaluate(self, sae, prepared: dict[str, Any], context) -> EvalResult:
        if prepared["status"] != "ok":
            return EvalResult.skipped(SupervisedMetrics, prepared["status"])
        from saebench.evaluators.supervised.run import sae_result

        return sae_result(prepared, sae, self.config)


def _unsupported(sae) -> str | None:
    meta = sae.meta
    if meta.output_hook and meta.output_hook != meta.hook_name:
        return (
            f"skipped: a transcoder ({meta.hook_name} -> {meta.output_hook}) has no "
            "reconstruction of its input hook to substitute"
        )
    return None
