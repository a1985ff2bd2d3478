"""The ``compare`` plug-in: a panel evaluator over every SAE of a group at one site.
Loads no torch (the work is in :mod:`.panel` and :mod:`.pairs`)."""

from __future__ import annotations

from typing import Any

from saebench.evaluators import EvalContext, EvalResult, Needs, PanelEvaluator, SaeBatch
from saebench.evaluators.compare.config import CompareConfig, CompareMetrics


class CompareEvaluator(PanelEvaluator):
    """Decoder, encoder and activation agreement between SAEs of one site, pair by pair,
    beside two untrained SAEs of the same shapes.

    Example:
        >>> saebench.evaluate(["zoo:resid-topk-16", "zoo:resid-topk-32"], model="zoo",
        ...                   evaluators=["compare"])[-1].metrics["hungarian_dec_mean_cos"]
    """

    version = "1"
    description = (
        "cross-SAE consistency: MMCS, Hungarian-matched cosines, shared latents, correlations"
    )
    Config = CompareConfig
    Metrics = CompareMetrics
    main_metric = "hungarian_dec_mean_cos"
    headline = (
        "hungarian_dec_mean_cos",
        "mmcs_dec_sym",
        "frac_shared_pb_0_7",
        "act_hungarian_mean_corr",
        "random_baseline_hungarian",
    )
    needs = Needs(activations=True)
    # the quickstart panel holds every zoo SAE of a site (78 pairs at the residual stream)
    quickstart = {"n_activation_samples": 4096}

    def __init__(self, config: CompareConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self._panel: Any = None

    @classmethod
    def needs_for(cls, config: CompareConfig) -> Needs:
        # the activation part streams the site's input; without it, weights only
        return Needs(activations=config.n_activation_samples > 0)

    def panel(self, saes: list) -> Any:
        """The panel (members, random twins, collected codes), made once."""
        if self._panel is None:
            from saebench.evaluators.compare.panel import Panel

            self._panel = Panel(saes, self.config)
        return self._panel

    def update(self, batch: SaeBatch) -> None:
        # every member encodes the site's input itself (batch.codes are one member's only)
        self.panel(self.context.extras["panel"]).collect(batch.x)

    def evaluate_panel(self, saes: list, context: EvalContext) -> EvalResult:
        return self.panel(saes).evaluate()
