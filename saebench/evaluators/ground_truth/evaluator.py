"""The ``ground_truth`` plug-in: a streaming evaluator on a synthetic source. Loads no torch
(the work is in :mod:`.run`).

Example:
    $ saebench eval DIR --model synth-1k --evals ground_truth --tokens 50000
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from saebench.errors import SaebenchError
from saebench.evaluators import EvalContext, EvalResult, Evaluator, Needs, SaeBatch
from saebench.evaluators.ground_truth.config import GroundTruthConfig, GroundTruthMetrics

if TYPE_CHECKING:
    from saebench.evaluators.ground_truth.run import Counts


class GroundTruthEvaluator(Evaluator):
    """How well an SAE recovers the true features of a synthetic model (SynthSAEBench's
    metrics), beside random decoders of the same width on the same features.

    Example:
        >>> saebench.evaluate("zoo:synth1k-topk-6-s0", model="synth-1k", n_tokens=50_000,
        ...                   evaluators=["ground_truth"])
    """

    version = "1"
    description = (
        "recovery of a synthetic model's true features: MCC, uniqueness, per-latent F1, EV, "
        "L0 (SynthSAEBench), beside random decoders; absorption and hedging (experimental)"
    )
    Config = GroundTruthConfig
    Metrics = GroundTruthMetrics
    # F1, not MCC: MCC reads the decoder only, so an SAE whose decoder rows are shuffled
    # against its encoder keeps its MCC (measured: the permuted-decoder control of
    # synth4k-topk-12-s0 scores 0.7054 like the SAE), while its F1 falls to 0.007
    main_metric = "f1"
    headline = ("f1", "mcc", "precision", "recall", "uniqueness", "explained_variance", "sae_l0")
    needs = Needs(activations=True, ground_truth=True)

    def __init__(self, config: GroundTruthConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.counts: Counts | None = None

    def update(self, batch: SaeBatch) -> None:
        from saebench.evaluators.ground_truth.run import Counts

        if self.counts is None:
            self.counts = Counts(self.config, self.context, batch)
        self.counts.add(batch)

    def finish(self) -> EvalResult:
        from saebench.evaluators.ground_truth.run import summarise

        if self.counts is None or self.counts.sums.sums.get("n") is None:
            raise SaebenchError(
                "ground_truth: no sample was evaluated; give the run some samples (--tokens N)"
            )
        return summarise(self.counts, self.config, self.context)
