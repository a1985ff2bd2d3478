"""Reconstruction fidelity, and downstream fidelity when the reconstruction is spliced in.

All sums are kept in float64 over every counted token of the run, so the centred
explained variance uses the mean over all evaluated tokens, not a per-batch mean. The
legacy explained variance (per-token, centred on a group mean, as SAEBench reports it) uses
fixed groups of ``legacy_chunk_contexts`` contexts, so it does not depend on the batch size.

CE and KL follow SAELens's rules by default (``docs/evaluators/reconstruction.md`` lists
every difference from SAELens and SAEBench with its size): the splice keeps special positions
clean, the zero ablation zeroes every position, a next-token CE counts where its input token
is not special, and a KL counts at every non-special position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

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


class ReconstructionConfig(EvalConfig):
    downstream: bool = True  # CE loss and KL with the reconstruction spliced into the model
    # "every_position" (SAELens, SAEBench): the baseline zeroes the hook everywhere;
    # "counted_positions": special positions (BOS, separators) keep their clean activation
    zero_ablation: Literal["every_position", "counted_positions"] = "every_position"
    # "input_counted" (SAELens, SAEBench): a next-token CE counts when its input token is not
    # special; "both_counted": when the predicted token is not special either
    ce_positions: Literal["input_counted", "both_counted"] = "input_counted"
    # contexts per group over which explained_variance_legacy centres (SAEBench's batch of 16)
    legacy_chunk_contexts: int = Field(16, ge=1)


class ReconstructionMetrics(EvalMetrics):
    mse: float = metric("mean over tokens and dimensions of (x - x_hat)^2", False)
    explained_variance: float = metric(
        "1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2, mean over all tokens", True
    )
    fvu: float = metric("fraction of variance unexplained, 1 - explained_variance", False)
    explained_variance_legacy: float = metric(
        "per-token 1 - ||x - x_hat||^2 / ||x - group mean||^2, averaged (SAEBench papers; "
        "groups of legacy_chunk_contexts contexts)",
        True,
    )
    cossim: float = metric("mean cosine similarity of x and x_hat", True)
    l2_ratio: float = metric("mean ||x_hat|| / ||x|| (1 is ideal)", None)
    relative_reconstruction_bias: float = metric(
        "E||x_hat||^2 / E<x, x_hat>; below 1 means shrinkage", None
    )
    ce_loss_clean: float | None = metric("CE loss of the model as is", None)
    ce_loss_spliced: float | None = metric("CE loss with the reconstruction spliced in", False)
    ce_loss_zero_ablated: float | None = metric("CE loss with the hook zeroed", None)
    ce_loss_score: float | None = metric("(CE_zero - CE_spliced) / (CE_zero - CE_clean)", True)
    kl_spliced: float | None = metric("KL(clean || spliced) per token", False)
    kl_zero_ablated: float | None = metric("KL(clean || zero-ablated) per token", None)
    kl_div_score: float | None = metric("(KL_zero - KL_spliced) / KL_zero", True)


class ReconstructionEvaluator(Evaluator):
    version = "3"
    description = "MSE, explained variance, cosine, CE-loss and KL recovered when spliced in"
    Config = ReconstructionConfig
    Metrics = ReconstructionMetrics
    main_metric = "ce_loss_score"
    headline = ("explained_variance", "ce_loss_score", "kl_div_score", "mse")

    def __init__(self, config: ReconstructionConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.n_tokens = 0
        self.sums: dict[str, float] = dict.fromkeys(
            ["sse", "sq", "legacy", "cos", "ratio", "hat_sq", "dot"], 0.0
        )
        self.target_sum: torch.Tensor | None = None
        self.losses: dict[str, float] = {}
        self.n_ce = 0
        self.n_kl = 0
        self.chunk: tuple[int, list[torch.Tensor], list[torch.Tensor]] | None = None
        self.by_context: ContextSums | None = None  # for the block bootstrap

    @classmethod
    def main_metric_for(cls, config: ReconstructionConfig) -> str:
        # without logits there is no CE-loss score: the variance explained leads
        return cls.main_metric if config.downstream else "explained_variance"

    @classmethod
    def needs_for(cls, config: ReconstructionConfig) -> Needs:
        return Needs(downstream=config.downstream, zero_ablation=config.zero_ablation)

    def update(self, batch: SaeBatch) -> None:
        import torch

        if batch.x.shape[0] == 0:
            return
        t = batch.target.double()
        x_hat = batch.x_hat.double()
        err = (t - x_hat).pow(2).sum(-1)
        t_norm, hat_norm = t.norm(dim=-1), x_hat.norm(dim=-1)
        s = self.sums
        s["sse"] += float(err.sum())
        s["sq"] += float(t.pow(2).sum())
        self._add_legacy(batch, t, err)
        s["cos"] += float(torch.nn.functional.cosine_similarity(t, x_hat, dim=-1).sum())
        s["ratio"] += float((hat_norm / t_norm.clamp_min(1e-12)).sum())
        s["hat_sq"] += float(hat_norm.pow(2).sum())
        s["dot"] += float((t * x_hat).sum())
        total = t.sum(0)
        self.target_sum = total if self.target_sum is None else self.target_sum + total
        self.n_tokens += t.shape[0]
        self.width = t.shape[1]
        self._add_context_rows(batch, t, x_hat, err)
        if batch.downstream is not None:
            self._add_losses(batch.downstream, batch.mask, batch.context_start)

    def _add_context_rows(self, batch: SaeBatch, t, x_hat, err) -> None:
        """Per-context sums of every quantity a metric is made of (see ``_COLUMNS``)."""
        import torch

        if self.by_context is None:
            self.by_context = ContextSums(len(_COLUMNS) + t.shape[1])
        t_norm, hat_norm = t.norm(dim=-1), x_hat.norm(dim=-1)
        rows = torch.zeros(t.shape[0], len(_COLUMNS), dtype=torch.float64)
        rows[:, _COLUMNS.index("n")] = 1
        rows[:, _COLUMNS.index("sse")] = err
        rows[:, _COLUMNS.index("sq")] = t.pow(2).sum(-1)
        rows[:, _COLUMNS.index("cos")] = torch.nn.functional.cosine_similarity(t, x_hat, dim=-1)
        rows[:, _COLUMNS.index("ratio")] = hat_norm / t_norm.clamp_min(1e-12)
        rows[:, _COLUMNS.index("hat_sq")] = hat_norm.pow(2)
        rows[:, _COLUMNS.index("dot")] = (t * x_hat).sum(-1)
        contexts, _ = batch.row_places()
        self.by_context.add_rows(contexts, torch.cat([rows, t], dim=1))

    def _add_legacy(self, batch: SaeBatch, t: torch.Tensor, err: torch.Tensor) -> None:
        """Collect rows by chunk of contexts; a chunk is scored once all its rows are in."""
        import torch

        size = self.config.legacy_chunk_contexts
        contexts, _ = batch.row_places()
        chunks = contexts // size
        for chunk in torch.unique_consecutive(chunks).tolist():
            rows = chunks == chunk
            if self.chunk is not None and self.chunk[0] != chunk:
                self._score_chunk()
            if self.chunk is None:
                self.chunk = (chunk, [], [])
            self.chunk[1].append(t[rows])
            self.chunk[2].append(err[rows])

    def _score_chunk(self) -> None:
        import torch

        _, targets, errors = self.chunk
        t, err = torch.cat(targets), torch.cat(errors)
        centred = (t - t.mean(0)).pow(2).sum(-1)
        self.sums["legacy"] += float((1 - err / centred.clamp_min(1e-12)).sum())
        self.chunk = None

    def _add_losses(self, d, mask: torch.Tensor, context_start: int) -> None:
        import torch

        ce_at = mask[:, :-1]
        if self.config.ce_positions == "both_counted":
            ce_at = ce_at & mask[:, 1:]
        picked = {
            "ce_clean": d.ce_clean[ce_at],
            "ce_spliced": d.ce_spliced[ce_at],
            "ce_zero": d.ce_zero[ce_at],
            "kl_spliced": d.kl_spliced[mask],
            "kl_zero": d.kl_zero[mask],
        }
        for key, values in picked.items():
            self.losses[key] = self.losses.get(key, 0.0) + float(values.double().sum())
        self.n_ce += int(ce_at.sum())
        self.n_kl += int(mask.sum())
        per_context = torch.zeros(mask.shape[0], self.by_context.width, dtype=torch.float64)
        for key, values, where in (
            ("n_ce", torch.ones_like(d.ce_clean), ce_at),
            ("ce_clean", d.ce_clean, ce_at),
            ("ce_spliced", d.ce_spliced, ce_at),
            ("ce_zero", d.ce_zero, ce_at),
            ("n_kl", torch.ones_like(d.kl_zero), mask),
            ("kl_spliced", d.kl_spliced, mask),
            ("kl_zero", d.kl_zero, mask),
        ):
            per_context[:, _COLUMNS.index(key)] = (values.double() * where).sum(1)
        contexts = torch.arange(mask.shape[0]) + context_start
        self.by_context.add_rows(contexts, per_context)

    def finish(self) -> EvalResult:
        n, s = self.n_tokens, self.sums
        if n == 0:
            raise SaebenchError(
                "reconstruction: no token was evaluated (every token of the data is a special "
                "token); check the dataset"
            )
        if self.chunk is not None:
            self._score_chunk()
        mean = self.target_sum / n
        variance = s["sq"] - n * float(mean.pow(2).sum())
        explained = 1 - s["sse"] / variance if variance > 0 else float("nan")
        values = dict(
            mse=s["sse"] / (n * self.width),
            explained_variance=explained,
            fvu=1 - explained,
            explained_variance_legacy=s["legacy"] / n,
            cossim=s["cos"] / n,
            l2_ratio=s["ratio"] / n,
            relative_reconstruction_bias=s["hat_sq"] / s["dot"] if s["dot"] else float("nan"),
        )
        if self.losses:
            values.update(downstream_scores(self.losses, self.n_ce, self.n_kl))
        details = {"n_tokens": n, "n_ce_positions": self.n_ce}
        intervals = self.by_context.intervals(_metrics_of_sums)
        return EvalResult(
            metrics=self.Metrics(**values),
            details=details,
            intervals={k: v for k, v in intervals.items() if values.get(k) is not None},
            sample_sizes={"contexts": intervals["mse"].n, "tokens": n},
        )


# Per-context sums kept for the block bootstrap; the summed target vector follows them.
_COLUMNS = (
    "n", "sse", "sq", "cos", "ratio", "hat_sq", "dot",
    "n_ce", "ce_clean", "ce_spliced", "ce_zero", "n_kl", "kl_spliced", "kl_zero",
)  # fmt: skip


def _metrics_of_sums(sums) -> dict[str, float | None]:
    """Every metric with an interval, from summed per-context quantities (float64)."""
    col = {name: float(sums[i]) for i, name in enumerate(_COLUMNS)}
    n, width = col["n"], len(sums) - len(_COLUMNS)
    mean = sums[len(_COLUMNS) :] / n
    variance = col["sq"] - n * float((mean**2).sum())
    explained = 1 - col["sse"] / variance if variance > 0 else None
    out = {
        "mse": col["sse"] / (n * width),
        "explained_variance": explained,
        "fvu": None if explained is None else 1 - explained,
        "cossim": col["cos"] / n,
        "l2_ratio": col["ratio"] / n,
        "relative_reconstruction_bias": col["hat_sq"] / col["dot"] if col["dot"] else None,
    }
    if col["n_ce"] > 0:
        out.update(downstream_scores(col, int(col["n_ce"]), int(col["n_kl"])))
    return out


def downstream_scores(sums: dict[str, float], n_ce: int, n_kl: int) -> dict[str, float]:
    """CE and KL means and the two recovery scores from summed per-token losses."""
    ce = {key: sums[key] / max(n_ce, 1) for key in ("ce_clean", "ce_spliced", "ce_zero")}
    kl = {key: sums[key] / max(n_kl, 1) for key in ("kl_spliced", "kl_zero")}
    ce_gap = ce["ce_zero"] - ce["ce_clean"]
    return dict(
        ce_loss_clean=ce["ce_clean"],
        ce_loss_spliced=ce["ce_spliced"],
        ce_loss_zero_ablated=ce["ce_zero"],
        ce_loss_score=(ce["ce_zero"] - ce["ce_spliced"]) / ce_gap if ce_gap else float("nan"),
        kl_spliced=kl["kl_spliced"],
        kl_zero_ablated=kl["kl_zero"],
        kl_div_score=(
            (kl["kl_zero"] - kl["kl_spliced"]) / kl["kl_zero"] if kl["kl_zero"] else float("nan")
        ),
    )
