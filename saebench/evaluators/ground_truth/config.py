"""The ``ground_truth`` evaluator's config and metrics: a torch-free leaf that the rest of the
package (and a CLI listing evaluators) imports without loading the work.

Example:
    >>> from saebench.evaluators.ground_truth.config import GroundTruthConfig
    >>> GroundTruthConfig().random_decoders
    3
"""

from __future__ import annotations

from pydantic import Field

from saebench.evaluators import EvalConfig, EvalMetrics, metric

# Percentiles of each true feature's |cos| with the other features (superposition details).
SUPERPOSITION_PERCENTILES = (95, 99)
# Thresholds for the share of Hungarian-matched pairs above them (details).
MATCH_THRESHOLDS = (0.5, 0.7, 0.9)

EXPERIMENTAL = "EXPERIMENTAL (no published reference to compare with): "


class GroundTruthConfig(EvalConfig):
    # random unit decoders of the SAE's width matched to the true features: their mean MCC
    # and uniqueness are the null printed beside the SAE's (0: none)
    random_decoders: int = Field(3, ge=0, le=100)
    seed: int = 0  # of the random decoders (draw i uses seed + i) and of the bootstrap
    # the bootstrap resamples blocks of samples; sample i belongs to block i mod blocks
    # (samples are independent draws, so interleaved blocks are as good as runs and keep
    # the memory fixed)
    blocks: int = Field(100, ge=2, le=10_000)
    # absorption and hedging look at parent features whose Hungarian partner latent has at
    # least this |cos| with them (a parent the SAE never learnt cannot be absorbed)
    absorption_min_cos: float = Field(0.5, ge=0, le=1)


class GroundTruthMetrics(EvalMetrics):
    """SynthSAEBench's metrics (SAELens ``eval_sae_on_synthetic_data``), the random-decoder
    null, and two experimental hierarchy metrics. ``docs/evaluators/ground_truth.md``."""

    mcc: float = metric(
        "mean |cos| of Hungarian-matched (decoder row, true feature) pairs, over "
        "min(d_sae, n_features) pairs; weights only",
        True,
    )
    uniqueness: float = metric(
        "distinct true features among the latents' best matches (argmax |cos|) / d_sae; "
        "weights only",
        True,
    )
    precision: float = metric(
        "mean over latents of TP/(TP+FP), the latent firing (!= 0) as a detector of its "
        "best-matching true feature (0 when undefined)",
        True,
    )
    recall: float = metric("mean over latents of TP/(TP+FN) (0 when undefined)", True)
    f1: float = metric("mean over latents of 2PR/(P+R); a dead latent counts 0", True)
    accuracy: float = metric("mean over latents of (TP+TN)/samples", True)
    explained_variance: float = metric(
        "1 - E||x - x_hat||^2 / (E||x||^2 - ||E x||^2), x with its bias", True
    )
    shrinkage: float = metric("mean ||x_hat|| / ||x|| over samples with ||x|| > 1e-6", None)
    sae_l0: float = metric("mean number of nonzero latents per sample", None)
    true_l0: float = metric("mean number of nonzero true coefficients per sample", None)
    dead_latents: float = metric("number of latents that never fired on the samples", False)
    dead_fraction: float = metric("dead_latents / d_sae", False)
    random_decoder_mcc: float | None = metric(
        "mcc of random unit decoders of the same width (mean over random_decoders draws)", None
    )
    random_decoder_uniqueness: float | None = metric("uniqueness of the same random decoders", None)
    absorption_rate: float | None = metric(
        EXPERIMENTAL + "mean over learnt parent features of P(parent's latent silent and a "
        "firing child's latent fires | parent fires)",
        False,
    )
    hedging: float | None = metric(
        EXPERIMENTAL + "mean over learnt parent features of sum over children c of "
        "(unit decoder row of the parent's latent . F_c)^2; weights only",
        False,
    )
