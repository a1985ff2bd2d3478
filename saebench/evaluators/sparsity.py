"""How sparse the codes are: L0, L1, dead and dense latents, and the firing histogram."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field

from saebench.errors import SaebenchError
from saebench.evaluators import (
    EvalConfig,
    EvalContext,
    EvalMetrics,
    EvalResult,
    Evaluator,
    Needs,
    SaeBatch,
    metric,
)
from saebench.toolkit.intervals import ContextSums

if TYPE_CHECKING:
    import torch


class SparsityConfig(EvalConfig):
    # a latent firing on more than this fraction of tokens is dense
    dense_threshold: float = Field(0.1, ge=0, le=1)
    # lowest firing-frequency bin edge (log10), and the histogram's resolution
    histogram_min_log10: float = Field(-7.0, ge=-30, lt=0)
    histogram_bins_per_decade: int = Field(2, ge=1, le=100)


class SparsityMetrics(EvalMetrics):
    l0: float = metric("mean number of nonzero codes per token", None)
    l1: float = metric("mean sum of |codes| per token", None)
    dead_fraction: float = metric("fraction of latents that never fired", False)
    dense_fraction: float = metric(
        "fraction of latents firing on > dense_threshold of tokens", False
    )
    alive_fraction: float = metric("fraction of latents that fired at least once", True)


class SparsityEvaluator(Evaluator):
    version = "2"
    description = "L0, L1, dead and dense latent fractions, firing-frequency histogram"
    Config = SparsityConfig
    Metrics = SparsityMetrics
    main_metric = "l0"
    headline = ("l0", "dead_fraction", "dense_fraction")
    needs = Needs()

    def __init__(self, config: SparsityConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.fires: torch.Tensor | None = None
        self.l0_sum = 0.0
        self.l1_sum = 0.0
        self.n_tokens = 0
        self.by_context = ContextSums(3)  # tokens, active codes, sum |codes|, per context

    def update(self, batch: SaeBatch) -> None:
        import torch

        fires = torch.count_nonzero(batch.codes, dim=0)  # int64, exact
        self.fires = fires if self.fires is None else self.fires + fires
        self.l0_sum += float(fires.sum())
        # summed in float64: a float16 SAE's sum overflows its own dtype (max 65504)
        self.l1_sum += float(batch.codes.abs().sum(dtype=torch.float64))
        self.n_tokens += batch.codes.shape[0]
        rows = torch.stack(
            [
                torch.ones(batch.codes.shape[0], dtype=torch.float64),
                torch.count_nonzero(batch.codes, dim=1).double(),
                batch.codes.abs().sum(-1, dtype=torch.float64),
            ],
            dim=1,
        )
        self.by_context.add_rows(batch.row_places()[0], rows)

    def finish(self) -> EvalResult:
        if self.n_tokens == 0 or self.fires is None:
            raise SaebenchError(
                "sparsity: no token was evaluated (every token of the data is a special "
                "token); check the dataset"
            )
        n = self.n_tokens
        density = self.fires.double() / n
        metrics = self.Metrics(
            l0=self.l0_sum / n,
            l1=self.l1_sum / n,
            dead_fraction=float((self.fires == 0).double().mean()),
            dense_fraction=float((density > self.config.dense_threshold).double().mean()),
            alive_fraction=float((self.fires > 0).double().mean()),
        )
        # dead and dense fractions are counts over latents of the whole run: no interval
        intervals = self.by_context.intervals(
            lambda sums: {"l0": sums[1] / sums[0], "l1": sums[2] / sums[0]}
        )
        return EvalResult(
            metrics=metrics,
            details={"firing_histogram": self._histogram(density)},
            intervals=intervals,
            sample_sizes={"contexts": intervals["l0"].n, "tokens": n},
        )

    def _histogram(self, density: torch.Tensor) -> dict:
        """Counts of latents per log10 firing-frequency bin; dead latents counted apart."""
        import numpy as np

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
