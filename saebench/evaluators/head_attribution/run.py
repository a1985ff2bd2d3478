"""The work of ``head_attribution`` for one SAE: weight-based head attribution over alive
latents with bootstrap intervals and a random-dictionary null, and DFA examples."""

from __future__ import annotations

import numpy as np
import torch

from saebench.evaluators import EvalResult
from saebench.evaluators.head_attribution import shares as S
from saebench.evaluators.head_attribution.config import HeadAttributionConfig
from saebench.toolkit.intervals import bootstrap
from saebench.toolkit.references import random_dictionary

HEAD_FRACTIONS = S.WEIGHT_METRICS[:3]


def attribution(cfg: HeadAttributionConfig, W_dec: np.ndarray, n_heads: int) -> dict:
    """Metrics, intervals (bootstrap over latents) and per-head details of ``W_dec``'s rows."""
    args = (n_heads, cfg.top_k, cfg.attribution_threshold, cfg.same_role_cosine)
    metrics = S.weight_metrics(W_dec, *args)
    shares = S.head_shares(W_dec, n_heads)
    memo: dict[bytes, dict] = {}

    def head_fraction(name: str):
        def stat(rows: np.ndarray) -> float:
            idx = rows[:, 0].astype(np.int64)
            key = idx.tobytes()  # one computation per resample for the three fractions
            if key not in memo:
                memo[key] = S.weight_metrics(W_dec[idx], *args)
            return memo[key][name]

        return stat

    units = np.arange(len(W_dec), dtype=np.float64)[:, None]
    boot = {"unit": "latents", "seed": cfg.seed, "n_resamples": cfg.n_resamples}
    intervals = {name: bootstrap(units, head_fraction(name), **boot) for name in HEAD_FRACTIONS}
    top = shares.max(axis=1)
    squares = (shares**2).sum(axis=1)
    per_latent = {
        "single_head_latent_fraction": (top >= cfg.attribution_threshold).astype(np.float64),
        "mean_max_head_share": top,
        "mean_effective_heads": 1.0 / np.where(squares > 0, squares, np.inf),
    }
    for name, values in per_latent.items():
        intervals[name] = bootstrap(values, **boot)
    return {"metrics": metrics, "intervals": intervals, "shares": shares}


def null(cfg: HeadAttributionConfig, n_rows: int, d_in: int, n_heads: int) -> dict:
    """The weight metrics of random unit rows (``toolkit.references.random_dictionary``) of
    the analysed shape, averaged over ``null_seeds`` seeds, and their mean shares per head."""
    args = (n_heads, cfg.top_k, cfg.attribution_threshold, cfg.same_role_cosine)
    runs, head_means = [], []
    for seed in range(cfg.null_seeds):
        rows = random_dictionary(torch.zeros(1, d_in), d_sae=n_rows, k=1, seed=seed).W_dec
        W = rows.detach().double().numpy()
        runs.append(S.weight_metrics(W, *args))
        head_means.append(S.head_shares(W, n_heads).mean(axis=0))
    values = {name: float(np.mean([r[name] for r in runs])) for name in S.WEIGHT_METRICS}
    top = [float(r["mean_max_head_share"]) for r in runs]
    return {
        "metrics": values,
        "mean_share_per_head": np.mean(head_means, axis=0).round(4).tolist(),
        "mean_max_head_share_range": [round(min(top), 4), round(max(top), 4)],
        "seeds": cfg.null_seeds,
    }


def head_details(
    cfg: HeadAttributionConfig, W_dec: np.ndarray, shares: np.ndarray, alive: np.ndarray, fires
) -> list[dict]:
    """One summary per head: its mean share, its attributed latents, its top latents (by
    their index in the SAE) and its roles."""
    n_heads = shares.shape[1]
    owner = shares.argmax(axis=1)
    attributed = shares.max(axis=1) >= cfg.attribution_threshold
    out = []
    for h in range(n_heads):
        reading = S.read_head(
            W_dec, shares, h, cfg.top_k, cfg.attribution_threshold, cfg.same_role_cosine
        )
        out.append(
            {
                "head": h,
                "status": reading.status,
                "mean_share": round(float(shares[:, h].mean()), 4),
                "n_attributed_latents": int(((owner == h) & attributed).sum()),
                "top_latents": [
                    {"latent": int(alive[f]), "share": round(s, 4), "firings": int(fires[f])}
                    for f, s in zip(reading.top, reading.top_shares, strict=True)
                ],
                "roles": [[int(alive[f]) for f in role] for role in reading.roles],
            }
        )
    return out


def attach_offsets(heads: list[dict], examples: list[dict]) -> None:
    """Give each head the offsets (destination - source) of the top source of the DFA
    examples read mainly through it (largest |DFA| summed over its block): a positional
    role (1: previous token) the weights alone do not show."""
    for head in heads:
        head["dfa_top_source_offsets"] = []
    for e in examples:
        owner = int(np.argmax(np.abs(e["dfa_by_head"])))
        if owner < len(heads):
            heads[owner]["dfa_top_source_offsets"].append(e["top_sources"][0]["offset"])


def share_histogram(shares: np.ndarray) -> dict:
    """Counts of latents by their largest head share, in tenths."""
    edges = np.linspace(0.0, 1.0, 11)
    counts, _ = np.histogram(shares.max(axis=1), bins=edges)
    return {"edges": edges.round(2).tolist(), "counts": counts.tolist()}


def result(cfg, sae, fires: np.ndarray, n_heads: int, examples: list[dict]) -> EvalResult:
    """The record of one attention-output SAE from its firing counts and DFA examples."""
    from saebench.evaluators.head_attribution.config import HeadAttributionMetrics

    alive = np.nonzero(fires >= cfg.min_firings)[0]
    W_all = sae.W_dec.detach().double().cpu().numpy()
    W_dec = W_all[alive]
    found = attribution(cfg, W_dec, n_heads) if len(alive) else None
    metrics = dict(found["metrics"]) if found else {}
    intervals = dict(found["intervals"]) if found else {}
    nulls = null(cfg, len(alive), W_all.shape[1], n_heads) if len(alive) else None
    if examples:
        shares = [e["top_source_share"] for e in examples]
        metrics["dfa_top_source_share"] = float(np.mean(shares))
        intervals["dfa_top_source_share"] = bootstrap(shares, unit="dfa examples", seed=cfg.seed)
    details = {
        "n_heads": n_heads,
        "n_alive_latents": int(len(alive)),
        "heads": head_details(cfg, W_dec, found["shares"], alive, fires[alive]) if found else [],
        "max_share_histogram": share_histogram(found["shares"]) if found else None,
        "null": nulls,
        "dfa_examples": examples,
        "dfa_identity_max_error": max((e["identity_error"] for e in examples), default=None),
        # not recomputed: the reconstruction record splices z and zero-ablates it already
        "ce_loss_score_from": "reconstruction",
    }
    attach_offsets(details["heads"], examples)
    return EvalResult(
        metrics=HeadAttributionMetrics(**metrics),
        details=details,
        intervals=intervals,
        nulls=dict(nulls["metrics"]) if nulls else {},
        sample_sizes={"latents": int(len(alive)), "heads": n_heads, "dfa_examples": len(examples)},
    )
