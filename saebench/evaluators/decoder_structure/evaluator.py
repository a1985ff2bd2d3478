"""The ``decoder_structure`` plug-in: a streaming evaluator that reads the SAE's weights and
the shared activation pass, never running the model itself. Loads no torch (the work is in
:mod:`.run`).

Example:
    $ saebench eval zoo:resid-topk-16 --model zoo --evals decoder_structure
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from saebench.evaluators import EvalContext, EvalResult, Evaluator, Needs, SaeBatch
from saebench.evaluators.decoder_structure.config import (
    QUICKSTART_CONFIG,
    DecoderStructureConfig,
    DecoderStructureMetrics,
)

if TYPE_CHECKING:
    from saebench.evaluators.decoder_structure.afa import TokenNorms


class DecoderStructureEvaluator(Evaluator):
    """Structure of the decoder: SAEBench's meta-SAE variance explained, the quasi-
    orthogonality of its rows (Lee et al. 2025), and per token ε_LBO with its ZF plot.

    Example:
        >>> saebench.evaluate("zoo:resid-topk-16", model="zoo",
        ...                   evaluators=["decoder_structure"])
    """

    version = "1"
    description = (
        "decoder structure: meta-SAE variance explained (SAEBench meta_structure), max and "
        "mean |cos| between decoder rows, per-token eps_LBO and the ZF plot (Lee et al. 2025)"
    )
    Config = DecoderStructureConfig
    Metrics = DecoderStructureMetrics
    main_metric = "meta_fve"
    headline = ("meta_fve", "max_abs_cos", "mean_abs_cos", "eps_lbo_median")
    needs = Needs(activations=True)
    quickstart = QUICKSTART_CONFIG

    def __init__(self, config: DecoderStructureConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.norms: TokenNorms | None = None

    @classmethod
    def needs_for(cls, config: DecoderStructureConfig) -> Needs:
        return Needs(activations=config.tokens)

    def update(self, batch: SaeBatch) -> None:
        if not self.config.tokens:
            return
        if self.norms is None:
            from saebench.evaluators.decoder_structure.afa import TokenNorms

            self.norms = TokenNorms(batch.sae)
        self.norms.add(batch)

    def finish(self) -> EvalResult:
        from saebench.evaluators.decoder_structure.run import summarise

        return summarise(self.context.sae, self.norms, self.config, self.context)
