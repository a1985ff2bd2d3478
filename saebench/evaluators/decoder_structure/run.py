"""The work of ``decoder_structure``: the meta-SAE and the Gram statistics of the decoder
(weights only), ε_LBO and the ZF plot's data from the streamed tokens, and their nulls."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from saebench.evaluators import EvalContext, EvalResult
from saebench.evaluators.decoder_structure import geometry
from saebench.evaluators.decoder_structure.afa import TokenNorms, eps_lbo
from saebench.evaluators.decoder_structure.config import (
    QUANTILES,
    DecoderStructureConfig,
    DecoderStructureMetrics,
)
from saebench.evaluators.decoder_structure.meta_sae import meta_sae_fve, meta_width
from saebench.records import Interval
from saebench.toolkit.intervals import ContextSums, seed_spread

NULL_SEED_OFFSET = 10_000  # random dictionaries never share a seed with a meta-SAE
BOUND_LEVELS = (0.25, 0.5, 1.0)  # eps (h - 1) of the ZF plot's bound lines (the paper's)


def meta_scores(rows, config: DecoderStructureConfig, seed: int) -> list[tuple[float, float]]:
    """(FVE, MSE) of ``config.meta_seeds`` meta-SAEs on ``rows``, seeds ``seed + i``."""
    if config.unit_rows:
        rows = geometry.unit_rows(rows)
    width = meta_width(rows.shape[0], config.meta_width_ratio, config.meta_k)
    return [
        meta_sae_fve(
            rows,
            width=width,
            k=config.meta_k,
            steps=config.meta_steps,
            batch_size=config.meta_batch_size,
            lr=config.meta_lr,
            eval_batch_size=config.meta_eval_batch_size,
            seed=seed + i,
        )
        for i in range(config.meta_seeds)
    ]


def random_dictionary_null(h: int, d: int, config: DecoderStructureConfig) -> dict[str, Any]:
    """What a structureless decoder of this shape scores: random unit rows (seeded)."""
    rows = geometry.random_unit_rows(h, d, config.seed + NULL_SEED_OFFSET)
    meta = meta_scores(rows, config, config.seed + NULL_SEED_OFFSET)
    return {
        "meta_fve": [fve for fve, _ in meta],
        **geometry.offdiagonal_stats(rows, config.block_rows),
        "mean_abs_cos_closed_form": geometry.expected_abs_cos(d),
        "max_abs_cos_approx": geometry.approx_max_abs_cos(h, d),
    }


def weight_part(sae, config: DecoderStructureConfig, context: EvalContext) -> dict[str, Any]:
    """Meta-SAE scores, Gram statistics and their nulls, with the CPU seconds they took."""
    w_dec = sae.W_dec.detach()
    h, d = w_dec.shape
    began = time.process_time()
    meta = meta_scores(w_dec, config, config.seed)
    meta_seconds = time.process_time() - began
    began = time.process_time()
    stats = geometry.offdiagonal_stats(w_dec, config.block_rows)
    gram_seconds = time.process_time() - began
    null = context.once(
        "random_dictionary",
        lambda: random_dictionary_null(h, d, config),
        depends_on=[int(h), int(d)],
    )
    return {
        "meta": meta,
        "stats": stats,
        "null": null,
        "seconds": {"meta_cpu_seconds": meta_seconds, "gram_cpu_seconds": gram_seconds},
    }


def _rounded(values, digits: int = 5) -> list:
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=float).ravel()]


def zf_data(z: np.ndarray, f: np.ndarray, h: int, config: DecoderStructureConfig) -> dict:
    """The ZF plot as data: a 2-d histogram of (||z||, ||f~||), clipped at the 99.9th
    percentile of both, the per-bin median of ||f~||, and a seeded sample of points."""
    top = float(np.quantile(np.concatenate([z, f]), 0.999)) if z.size else 1.0
    edges = np.linspace(0.0, max(top, 1e-12), config.zf_bins + 1)
    counts, _, _ = np.histogram2d(np.minimum(z, top), np.minimum(f, top), bins=[edges, edges])
    which = np.clip(np.searchsorted(edges, z, side="right") - 1, 0, config.zf_bins - 1)
    medians = [
        float(np.median(f[which == b])) if np.any(which == b) else None
        for b in range(config.zf_bins)
    ]
    pick = np.random.default_rng(config.seed).permutation(z.size)[: config.zf_points]
    return {
        "h": h,
        "edges": _rounded(edges),
        "counts": counts.astype(int).tolist(),  # [z bin][f~ bin]
        "median_f_by_z_bin": [None if m is None else _rounded([m])[0] for m in medians],
        "points_z": _rounded(z[pick]),
        "points_f": _rounded(f[pick]),
        "bound_levels": list(BOUND_LEVELS),
    }


def token_part(norms: TokenNorms | None, config: DecoderStructureConfig) -> dict[str, Any]:
    """ε_LBO's mean and quantiles, the norm ratio and the over-activated share, with
    block-bootstrap intervals over contexts, and the ZF plot's data."""
    from saebench.toolkit.block_quantiles import block_quantiles

    if norms is None:
        return {"status": "skipped: no tokens were streamed (tokens: false)"}
    z, f, contexts = norms.arrays()
    if z.size == 0:
        return {"status": "skipped: no token was evaluated"}
    eps = eps_lbo(z, f, norms.h)
    known = ~np.isnan(eps)
    sums = ContextSums(4)  # tokens with eps, sum eps, tokens, tokens over-activated
    rows = np.stack([known, np.nan_to_num(eps), np.ones(z.size), f > z], axis=1)
    sums.add(contexts, rows)

    def shares(s: np.ndarray) -> dict[str, float | None]:
        return {
            "eps_lbo_mean": s[1] / s[0] if s[0] else None,
            "over_activated_fraction": s[3] / s[2] if s[2] else None,
        }

    metrics = shares(sums.total())
    intervals = sums.intervals(shares, seed=config.seed)
    estimates, q_intervals = block_quantiles(
        eps, contexts, list(QUANTILES.values()), seed=config.seed, bins=config.quantile_bins
    )
    for name, q in QUANTILES.items():
        metrics[f"eps_lbo_{name}"] = estimates[q]
        intervals[f"eps_lbo_{name}"] = q_intervals[q]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(z > 0, f / z, np.nan)
    ratio_estimate, ratio_interval = block_quantiles(
        ratio, contexts, [0.5], seed=config.seed, bins=config.quantile_bins
    )
    metrics["norm_ratio_median"] = ratio_estimate[0.5]
    intervals["norm_ratio_median"] = ratio_interval[0.5]
    return {
        "metrics": metrics,
        "intervals": intervals,
        "details": token_details(z, f, eps, norms.h, config),
        "sample_sizes": {"tokens": int(z.size), "contexts": intervals["eps_lbo_mean"].n},
    }


def token_details(z, f, eps, h: int, config: DecoderStructureConfig) -> dict[str, Any]:
    """The ZF plot's data, quantiles of eps (h - 1) (the plot's bound levels: the relative
    gap ``| ||z||^2 - ||f~||^2 | / ||f~||^2``) and the tokens without eps."""
    known = ~np.isnan(eps)
    scaled = eps[known] * max(h - 1, 1)
    levels = list(QUANTILES.values())
    gaps = _rounded(np.quantile(scaled, levels)) if scaled.size else [None] * len(levels)
    return {
        "zf": zf_data(z, f, h, config),
        "relative_gap_quantiles": dict(zip(QUANTILES, gaps, strict=True)),
        "zero_code_tokens": int((~known).sum()),
    }


def summarise(
    sae, norms: TokenNorms | None, config: DecoderStructureConfig, context: EvalContext
) -> EvalResult:
    """The record: weight metrics with the meta-SAE's seed spread, token metrics with their
    block-bootstrap intervals, and the random-dictionary nulls."""
    weights = weight_part(sae, config, context)
    began = time.process_time()
    tokens = token_part(norms, config)
    fves = [fve for fve, _ in weights["meta"]]
    null = weights["null"]
    metrics: dict[str, Any] = {
        "meta_fve": float(np.mean(fves)) if fves else None,
        "meta_mse": float(np.mean([mse for _, mse in weights["meta"]])) if fves else None,
        **weights["stats"],
        **tokens.get("metrics", {}),
    }
    intervals: dict[str, Interval] = dict(tokens.get("intervals", {}))
    if len(fves) > 1:
        intervals["meta_fve"] = seed_spread(fves)
    details = {
        "meta_width": meta_width(sae.d_sae, config.meta_width_ratio, config.meta_k),
        "null": {k: v for k, v in null.items() if k != "meta_fve"}
        | {"meta_fve_seeds": null["meta_fve"]},
        **weights["seconds"],
        "tokens_cpu_seconds": time.process_time() - began + (norms.seconds if norms else 0.0),
        **tokens.get("details", {}),
    }
    if "status" in tokens:
        details["eps_lbo_status"] = tokens["status"]
    if sae.meta.is_transcoder:
        details["note"] = (
            "transcoder: z is the output activation it writes (minus any skip path), so "
            "eps_LBO compares the codes with the norm of what the decoder must produce"
        )
    return EvalResult(
        metrics=DecoderStructureMetrics(**metrics),
        details=details,
        seeds={"meta_fve": fves} if fves else {},
        intervals=intervals,
        nulls={
            "meta_fve": float(np.mean(null["meta_fve"])) if null["meta_fve"] else None,
            "max_abs_cos": null["max_abs_cos"],
            "mean_abs_cos": null["mean_abs_cos_closed_form"],
            "mean_max_abs_cos": null["mean_max_abs_cos"],
        },
        sample_sizes={"meta_seeds": len(fves), **tokens.get("sample_sizes", {})},
    )
