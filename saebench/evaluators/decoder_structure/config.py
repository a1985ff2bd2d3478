"""Config and metrics of ``decoder_structure`` (no torch: listing evaluators stays light)."""

from __future__ import annotations

from pydantic import Field

from saebench.evaluators import EvalConfig, EvalMetrics, metric

# ε_LBO quantiles reported as metrics (name suffix -> q)
QUANTILES = {"median": 0.5, "p90": 0.9, "p99": 0.99}


class DecoderStructureConfig(EvalConfig):
    # SAEBench meta_structure (PR #87) defaults: width ceil(0.25 d_sae), k 4, 1500 steps of
    # 1024 rows, Adam 5e-4, eval batches of 4096 rows
    meta_width_ratio: float = Field(0.25, gt=0, le=4)
    meta_k: float = Field(4.0, gt=0)
    meta_steps: int = Field(1500, ge=1)
    meta_batch_size: int = Field(1024, ge=1)
    meta_lr: float = Field(5e-4, gt=0)
    meta_eval_batch_size: int = Field(4096, ge=1)
    meta_seeds: int = Field(3, ge=0, le=20)  # meta-SAEs per decoder (0: skip the meta-SAE)
    seed: int = 42  # first seed; seed i of the meta-SAE (and its null) is seed + i
    # train on unit-norm rows (SAEBench uses the raw rows: the same for unit-norm decoders)
    unit_rows: bool = True
    # rows per block of the Gram matrix (None: blocks of about 32M entries)
    block_rows: int | None = Field(None, ge=1)
    # per-token ε_LBO and the ZF plot (False: weights only, the shared pass is not read)
    tokens: bool = True
    zf_bins: int = Field(40, ge=4, le=200)  # bins per axis of the ZF plot's histogram
    zf_points: int = Field(400, ge=0, le=20_000)  # tokens kept as points for the plot (seeded)
    quantile_bins: int = Field(4096, ge=64)  # resolution of the quantiles' bootstrap


QUICKSTART_CONFIG = {
    "meta_steps": 80,
    "meta_batch_size": 128,
    "zf_points": 200,
    "quantile_bins": 1024,
}


class DecoderStructureMetrics(EvalMetrics):
    meta_fve: float | None = metric(
        "fraction of the decoder rows' variance a BatchTopK meta-SAE explains (mean over "
        "seeds); compare with its null, the same meta-SAE on random unit rows",
        None,
    )
    meta_mse: float | None = metric("meta-SAE reconstruction MSE per entry (mean over seeds)", None)
    max_abs_cos: float | None = metric(
        "max |cos| between two distinct decoder rows (the dictionary's quasi-orthogonality)",
        False,
    )
    mean_abs_cos: float | None = metric("mean |cos| over distinct pairs of decoder rows", False)
    mean_max_abs_cos: float | None = metric(
        "mean over latents of the |cos| to its nearest other latent", False
    )
    eps_lbo_mean: float | None = metric(
        "mean over tokens of eps_LBO = | ||z||^2 - ||f~||^2 | / ((h-1) ||f~||^2)", False
    )
    eps_lbo_median: float | None = metric("median over tokens of eps_LBO", False)
    eps_lbo_p90: float | None = metric("90th percentile over tokens of eps_LBO", False)
    eps_lbo_p99: float | None = metric("99th percentile over tokens of eps_LBO", False)
    norm_ratio_median: float | None = metric(
        "median over tokens of ||f~|| / ||z|| (1: codes as large as the target implies)", None
    )
    over_activated_fraction: float | None = metric(
        "fraction of tokens with ||f~|| > ||z|| (above the ZF plot's diagonal)", None
    )
