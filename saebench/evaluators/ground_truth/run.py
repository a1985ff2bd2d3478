"""The work of the ``ground_truth`` evaluator: match the decoder to the true features once,
count per batch, summarise at the end (metrics, intervals, the random-decoder null, details).

Memory is bounded by the number of bootstrap blocks, never by the number of samples: per
block, per latent TP/FP/FN counts, a few reconstruction sums and, for the experimental
absorption, per-parent counters.
"""

from __future__ import annotations

from typing import Any

import torch

from saebench.errors import SaebenchError
from saebench.evaluators import EvalContext, EvalResult, SaeBatch
from saebench.evaluators.ground_truth.blocks import BlockSums
from saebench.evaluators.ground_truth.config import (
    MATCH_THRESHOLDS,
    SUPERPOSITION_PERCENTILES,
    GroundTruthConfig,
    GroundTruthMetrics,
)
from saebench.evaluators.ground_truth.dictionary import match, random_decoders, superposition
from saebench.evaluators.ground_truth.hierarchy import absorption_events, by_depth, parents_of
from saebench.evaluators.ground_truth.scores import MIN_NORM, sample_metrics

_NO_TRUTH = (
    "ground_truth: the run has no true features; it needs a synthetic source "
    "(--model synth-1k or synth-4k)"
)


class Counts:
    """Everything the evaluator keeps between batches for one SAE."""

    def __init__(self, config: GroundTruthConfig, context: EvalContext, batch: SaeBatch) -> None:
        model = context.model
        features = getattr(model, "features", None)
        if features is None or batch.truth is None:
            raise SaebenchError(_NO_TRUTH)
        sae = context.sae if context.sae is not None else batch.sae
        decoder = sae.W_dec.detach().float().cpu()
        name = getattr(model, "name", "the synthetic model")
        if decoder.shape[1] != features.shape[1]:
            raise SaebenchError(
                f"ground_truth: the SAE decodes to width {decoder.shape[1]} but {name}'s "
                f"features have width {features.shape[1]}; evaluate an SAE trained on {name}"
            )
        self.model, self.decoder = model, decoder
        self.matching = match(decoder, features)
        self.parents = parents_of(model, self.matching, decoder, config.absorption_min_cos)
        device = batch.codes.device
        self.best = self.matching.best.to(device)
        self.on_device = None if self.parents is None else self.parents.to(device)
        self.sums = BlockSums(config.blocks)

    def add(self, batch: SaeBatch) -> None:
        truth, codes = batch.truth, batch.codes
        if truth is None or truth.shape[1] != self.model.features.shape[0]:
            raise SaebenchError(_NO_TRUTH)
        if codes.shape[0] == 0:
            return
        fires = codes != 0
        present = truth[:, self.best] > 0
        t, x_hat = batch.target.double(), batch.x_hat.double()
        norm = t.norm(dim=-1)
        valid = norm > MIN_NORM
        ratio = torch.where(valid, x_hat.norm(dim=-1) / norm.clamp_min(MIN_NORM), 0.0)
        values = dict(
            n=torch.ones(t.shape[0], 1, dtype=torch.float64, device=t.device),
            tp=fires & present,
            fp=fires & ~present,
            fn=~fires & present,
            sse=(t - x_hat).pow(2).sum(-1, keepdim=True),
            sq=t.pow(2).sum(-1, keepdim=True),
            sum_x=t,
            shrink=torch.stack([ratio, valid.double()], dim=1),
            true_l0=(truth != 0).sum(-1, keepdim=True).double(),
        )
        if self.on_device is not None:
            values["fired"], values["absorbed"] = absorption_events(self.on_device, truth, codes)
        samples, _ = batch.row_places()
        self.sums.add(samples, **values)


def summarise(counts: Counts, config: GroundTruthConfig, context: EvalContext) -> EvalResult:
    """The record: metrics, intervals of the sample-based ones, the null and the details."""
    total = counts.sums.total()
    values: dict[str, Any] = {k: _number(v[0]) for k, v in sample_metrics(total).items()}
    d_sae, m = counts.decoder.shape[0], counts.matching
    dead = int(((total["tp"] + total["fp"])[0] == 0).sum())
    null = _random_null(counts, config, context)
    values.update(
        mcc=m.mcc,
        uniqueness=m.uniqueness,
        dead_latents=float(dead),
        dead_fraction=dead / d_sae,
        random_decoder_mcc=_mean(null["mcc"]),
        random_decoder_uniqueness=_mean(null["uniqueness"]),
        hedging=None if counts.parents is None else float(counts.parents.hedging.mean()),
    )
    intervals = counts.sums.intervals(sample_metrics, seed=config.seed)
    n = int(total["n"][0, 0])
    return EvalResult(
        metrics=GroundTruthMetrics(**values),
        details=_details(counts, config, context, null, total),
        intervals={k: iv for k, iv in intervals.items() if values.get(k) is not None},
        nulls={
            "mcc": values["random_decoder_mcc"],
            "uniqueness": values["random_decoder_uniqueness"],
        },
        sample_sizes={"samples": n, "sample_blocks": intervals["f1"].n},
    )


def _random_null(counts: Counts, config: GroundTruthConfig, context: EvalContext) -> dict:
    """The random decoders' MCC and uniqueness, computed once per (model, width)."""
    features, d_sae = counts.model.features, counts.decoder.shape[0]
    return context.once(
        "random_decoders",
        lambda: random_decoders(features, d_sae, config.random_decoders, config.seed),
        site=_site(context),
        depends_on={"model": _model_identity(counts.model), "d_sae": d_sae},
    )


def _details(counts: Counts, config, context, null: dict, total) -> dict[str, Any]:
    model, m = counts.model, counts.matching
    stats = context.once(
        "superposition",
        lambda: superposition(model.features, SUPERPOSITION_PERCENTILES),
        depends_on={"model": _model_identity(model)},
    )
    details: dict[str, Any] = {
        "samples": int(total["n"][0, 0]),
        "d_sae": counts.decoder.shape[0],
        "n_features": int(model.features.shape[0]),
        "matched_pairs": len(m.matched),
        "matched_above": {
            str(t): float((m.matched >= t).double().mean()) if len(m.matched) else 0.0
            for t in MATCH_THRESHOLDS
        },
        "random_decoders": {"draws": config.random_decoders, "seed": config.seed, **null},
        "superposition": stats,
        "weights_only": [
            "mcc",
            "uniqueness",
            "hedging",
            "random_decoder_mcc",
            "random_decoder_uniqueness",
        ],  # fmt: skip
    }
    if counts.parents is not None:
        details["hierarchy_experimental"] = {
            "min_cos": config.absorption_min_cos,
            "parents": int(counts.parents.feature.numel()),
            "by_depth": by_depth(counts.parents, total["fired"][0], total["absorbed"][0]),
        }
    return details


def _site(context: EvalContext) -> str | None:
    meta = getattr(context.sae, "meta", None)
    return getattr(meta, "hook_name", None)


def _model_identity(model) -> Any:
    """What the shared work depends on of the model: its identity, or a fingerprint."""
    if hasattr(model, "identity"):
        return model.identity()
    features = model.features
    return [
        list(features.shape),
        float(features.double().sum()),
        float(features.double().abs().sum()),
    ]


def _number(value) -> float | None:
    value = float(value)
    return value if value == value else None  # NaN (e.g. no parent fired): None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
