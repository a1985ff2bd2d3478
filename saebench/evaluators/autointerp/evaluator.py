"""The ``autointerp`` evaluator: the plug-in class (its config and metrics are in
:mod:`saebench.evaluators.autointerp.config`).

This module loads no torch (listing evaluators stays light); the streamed collection is in
:mod:`saebench.activations.examples` and the work of ``finish`` in
:mod:`saebench.evaluators.autointerp.run`, both imported when the run starts.
"""

from __future__ import annotations

from pathlib import Path

from saebench.errors import SaebenchError
from saebench.evaluators import EvalContext, EvalResult, Evaluator, Needs, SaeBatch
from saebench.evaluators.autointerp.config import (  # noqa: F401 (importable from here too)
    AutointerpConfig,
    AutointerpMetrics,
    Scorer,
)


class AutointerpEvaluator(Evaluator):
    """LLM explanations of sampled latents, scored by detection, fuzzing and intervention.

    Example:
        >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo", dataset="zoo",
        ...     evaluators=["autointerp"], llm={"model": "sim", "base_url": server.base_url})
        >>> records[0].metrics["detection_balanced_accuracy"]
    """

    version = "2"  # 2: dense status, coverage, intervals, nulls, Paulo et al. steering
    description = "LLM explanations of latents scored by detection, fuzzing and intervention"
    Config = AutointerpConfig
    Metrics = AutointerpMetrics
    # detection is the main metric: it needs no logprobs and no steering, works with any
    # chat model, and tests the explanation on held-out activating and checked negative text
    main_metric = "detection_balanced_accuracy"
    headline = ("detection_balanced_accuracy", "fuzzing_balanced_accuracy", "intervention_score")
    needs = Needs(llm=True, model_runner=True, activations=True)

    @classmethod
    def write_pages(cls, records: list, folder: Path) -> dict[str, Path]:
        """The viewer's page of every SAE with a record here, in ``folder``: what a built
        leaderboard links (``{sae_uri: page}``); the board asks every evaluator for it."""
        from saebench.evaluators.autointerp.viewer import write_pages

        return write_pages(records, folder)

    def __init__(self, config: AutointerpConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.collector = None  # made at the first batch: it needs torch

    def update(self, batch: SaeBatch) -> None:
        if self.collector is None:
            from saebench.evaluators.autointerp.run import make_collector

            self.collector = make_collector(self.config, self.context)
        self.collector.add(batch.codes, *batch.row_places())

    def finish(self) -> EvalResult:
        if self.collector is None:
            raise SaebenchError("autointerp: no tokens were evaluated")
        llm = getattr(self.context, "llm", None) or self.context.extras.get("llm")
        if llm is None:
            from saebench.llm.settings import llm_hint

            raise SaebenchError(f"autointerp needs {llm_hint()}")
        from saebench.evaluators.autointerp.run import run_autointerp

        return run_autointerp(self.config, self.context, self.collector, llm)
