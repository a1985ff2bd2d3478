"""The ``ravel`` evaluator: can an SAE's latents change one attribute of an entity (a city's
country) without changing the others (its continent, its language)?

RAVEL (Huang et al. 2024) pairs a base prompt with a source prompt about another entity and
swaps chosen coordinates of the entity's last token from source to base. Cause pairs ask the
target attribute: success is the source's value. Isolation pairs ask another attribute:
success is the base's value. Disentanglement is the mean of the two fractions, per target
attribute and split; the main metric averages it over target attributes on the held-out
entities. Latents are chosen by a learned mask (MDBM, as SAEBench) and by an L1 probe, and
the same interventions on the same pairs score the references, each returned as a
:class:`~saebench.evaluators.Reference` (a record of its own): the neuron basis split by sign
(like a ReLU SAE's latents) and linear, PCA, DAS (cause pairs) and MDAS (cause and
isolation), computed once per hook and seed and shared by every SAE of the run. Every
estimate carries a bootstrap interval over pairs; each seed redraws the pairs.
``docs/evaluators/ravel.md`` has the definitions and the zoo's numbers.

The SAE-independent work (the answers, the pairs, the references) is prepared once per
hook through ``context.once`` and shared by every SAE there (``prepare``); ``evaluate`` runs
per SAE. This module loads no torch; the config and metrics live in ``config``.
"""

from __future__ import annotations

import time
from typing import Any

from saebench.errors import SaebenchError
from saebench.evaluators import EvalContext, EvalResult, Needs, PromptEvaluator
from saebench.evaluators.ravel.config import QUICKSTART_CONFIG, RavelConfig, RavelMetrics


class RavelEvaluator(PromptEvaluator):
    """Cause, isolation and disentanglement of latent interventions on entity attributes.

    Example:
        >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo", evaluators=["ravel"],
        ...                             configs={"ravel": {"seeds": [0, 1]}})
        >>> records[0].metrics["disentanglement"], records[0].intervals["disentanglement"]
        >>> [r.sae.name for r in records if r.sae.role == "reference"]   # neurons, das, ...
    """

    version = "2"
    description = "RAVEL: cause / isolation / disentanglement of latent swaps (neurons, DAS)"
    Config = RavelConfig
    Metrics = RavelMetrics
    main_metric = "disentanglement"
    headline = ("disentanglement", "disentanglement_context")
    quickstart = QUICKSTART_CONFIG
    # the probe chooses among the SAE's latents only: SAEs with other probe settings still
    # share one preparation
    sae_only_fields = ("probe_c", "probe_max_latents")

    @classmethod
    def needs_for(cls, config: RavelConfig) -> Needs:
        return Needs(activations=False, model_runner=True, task=config.task_request())

    def finish(self) -> EvalResult:
        sae = self.context.sae
        if sae.meta.is_transcoder:
            return EvalResult.skipped(
                RavelMetrics,
                f"skipped: a transcoder reads {sae.meta.hook_name} and writes "
                f"{sae.meta.output_hook}; RAVEL swaps latents of one activation",
            )
        if self.context.runner is None or self.context.task is None:
            raise SaebenchError("ravel needs a model runner and its task; run it through a plan")
        from saebench.toolkit.determinism import fixed_threads

        began = time.process_time()
        # one torch thread throughout: trained masks, probes and rotations (and the greedy
        # answers scored with them) follow float order, which the thread count changes
        with fixed_threads():
            result = super().finish()  # prepare once per hook, then evaluate this SAE
        result.details["cpu_seconds"] = round(time.process_time() - began, 3)
        return result

    def prepare(self, context: EvalContext) -> Any:
        from saebench.evaluators.ravel.run import prepare

        return prepare(self.config, context)

    def evaluate(self, sae, prepared, context: EvalContext) -> EvalResult:
        from saebench.evaluators.ravel.run import evaluate_sae

        return evaluate_sae(self.config, sae, prepared, context)
