"""The ``output_score`` evaluator: the plug-in class (its config and metrics are in
:mod:`saebench.evaluators.output_score.config`).

This module loads no torch (listing evaluators stays light): the streamed collection is in
``collect`` and the work of ``finish`` in ``run``, both imported when the run starts.
"""

from __future__ import annotations

import time

from saebench.errors import SaebenchError
from saebench.evaluators import EvalContext, EvalResult, Evaluator, Needs, SaeBatch
from saebench.evaluators.output_score.config import (
    QUICKSTART_CONFIG,
    OutputScoreConfig,
    OutputScoreMetrics,
)


class OutputScoreEvaluator(Evaluator):
    """Output and input scores of sampled latents (Arad, Mueller and Belinkov 2025).

    Each sampled latent is amplified at the last token of a neutral prompt (one batched
    forward of the layers after its hook), and scored by how high its logit-lens tokens
    then rank and how likely they are; a random direction of the same norm, amplified the
    same way, is its null. The input score reads the latent's top activating contexts of
    the shared pass. ``docs/evaluators/output_score.md`` has the definitions and numbers.

    Example:
        >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo", dataset="zoo",
        ...                             evaluators=["output_score"], n_tokens=8192)
        >>> records[0].metrics["output_score_mean"], records[0].nulls["output_score_mean"]
    """

    version = "1"
    description = (
        "output score (amplify a latent, its logit-lens tokens' rank x prob) and input score"
    )
    Config = OutputScoreConfig
    Metrics = OutputScoreMetrics
    main_metric = "output_score_mean"
    headline = ("output_score_mean", "output_fraction_above", "input_score_mean")
    needs = Needs(activations=True, model_runner=True)
    quickstart = QUICKSTART_CONFIG

    def __init__(self, config: OutputScoreConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.collector = None  # made at the first batch: it needs torch
        self.update_seconds = 0.0  # CPU time of the streamed collection (the record's cost)

    def update(self, batch: SaeBatch) -> None:
        began = time.process_time()
        if self.collector is None:
            from saebench.evaluators.output_score.run import make_collector

            self.collector = make_collector(self.config, self.context.sae)
        from saebench.toolkit.determinism import fixed_threads

        contexts, positions = batch.row_places()
        # small gathers and scatters: one thread is several times faster than a contended pool
        with fixed_threads():
            self.collector.add(batch.codes, contexts, positions, batch.tokens, batch.context_start)
        self.update_seconds += time.process_time() - began

    def finish(self) -> EvalResult:
        from saebench.evaluators.output_score.run import run_output_score

        if self.context.runner is None:
            return EvalResult.skipped(
                OutputScoreMetrics, "skipped: the source has no model to amplify latents in"
            )
        if self.collector is None:
            raise SaebenchError("output_score: no token was evaluated; check the dataset")
        result = run_output_score(self.config, self.context, self.collector)
        if "status" not in result.details:
            result.details["update_cpu_seconds"] = round(self.update_seconds, 3)
        return result
