"""How sparse the codes are: L0, L1, dead and dense latents, and the firing histogram."""

from __future__ import annotations

import math

import numpy as np
import torch

from saebench.evaluators.base import (
    EvalConfig,
    EvalContext,
    EvalMetrics,
    EvalResult,
    Evaluator,
    Needs,
    SaeBatch,
    metric,
    register_evaluator,
)


class SparsityConfig(EvalConfig):
    dense_threshold: float = 0.1  # a latent firing on more than this fraction of tokens is dense
    histogram_min_log10: float = -7.0  # lowest firing-frequency bin edge (log10)
    histogram_bins_per_decade: int = 2


class SparsityMetrics(EvalMetrics):
    l0: float = metric("mean number of nonzero codes per token", None)
    l1: float = metric("mean sum of |codes| per token", None)
    dead_fraction: float = metric("fraction of latents that never fired", False)
    dense_fraction: float = metric(
        "fraction of latents firing on > dense_threshold of tokens", False
    )
    alive_fraction: float = metric("fraction of latents that fired at least once", True)


@register_evaluator("sparsity")
class SparsityEvaluator(Evaluator):
    version = "1"
    description = "L0, L1, dead and dense latent fractions, firing-frequency histogram"
    Config = SparsityConfig
    Metrics = SparsityMetrics
    main_metric = "l0"
    needs = Needs()

    def __init__(self, config: SparsityConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.fires: torch.Tensor | None = None
        self.l0_sum = 0.0
        self.l1_sum = 0.0
        self.n_tokens = 0

    def update(self, batch: SaeBatch) -> None:
        fires = torch.count_nonzero(batch.codes, dim=0)  # int64, exact
        self.fires = fires if self.fires is None else self.fires + fires
        self.l0_sum += float(fires.sum())
        # one batch's L1 in float32 is exact enough; the run's total is kept in float64
        self.l1_sum += float(batch.codes.abs().sum())
        self.n_tokens += batch.codes.shape[0]

    def finish(self) -> EvalResult:
        if self.n_tokens == 0 or self.fires is None:
            raise ValueError("no tokens were evaluated")
        n = self.n_tokens
        density = self.fires.double() / n
        metrics = self.Metrics(
            l0=self.l0_sum / n,
            l1=self.l1_sum / n,
            dead_fraction=float((self.fires == 0).double().mean()),
            dense_fraction=float((density > self.config.dense_threshold).double().mean()),
            alive_fraction=float((self.fires > 0).double().mean()),
        )
        return EvalResult(metrics=metrics, details={"firing_histogram": self._histogram(density)})

    def _histogram(self, density: torch.Tensor) -> dict:
        """Counts of latents per log10 firing-frequency bin; dead latents counted apart."""
        cfg = self.config
        n_bins = int(math.ceil(-cfg.histogram_min_log10 * cfg.histogram_bins_per_decade))
        edges = np.linspace(cfg.histogram_min_log10, 0.0, n_bins + 1)
        alive = density[density > 0].numpy()
        counts, _ = np.histogram(np.log10(alive).clip(edges[0], 0.0), bins=edges)
        return {
            "log10_edges": [round(float(e), 6) for e in edges],
            "counts": counts.tolist(),
            "dead": int((density == 0).sum()),
        }
