"""Config and metrics of the ``compare`` panel evaluator (no torch here).

Every metric is the mean over the panel's pairs of SAEs; ``details`` holds each pair's
values, the matrices over members and the standard deviations over pairs.
"""

from __future__ import annotations

from pydantic import Field

from saebench.evaluators import EvalConfig, EvalMetrics, metric

# the fractions of matched decoder pairs reported, and the shared-latent threshold
THRESHOLDS = (0.5, 0.7, 0.9)
SHARED_THRESHOLD = 0.7
CORRELATION_THRESHOLD = 0.7


class CompareConfig(EvalConfig):
    # raw cosines (a latent's direction has a sign); False: |cos|, as SynthSAEBench's MCC
    signed: bool = True
    # exact Hungarian matching while both SAEs have at most this many latents, else the
    # sparse approximation (docs/evaluators/compare.md gives its measured error)
    max_exact_latents: int = Field(16384, ge=1)
    # edges per latent kept by the approximate matching
    candidates: int = Field(16, ge=1, le=1024)
    # rows of the shared pass used for activation correlations (0: weights only, no pass)
    n_activation_samples: int = Field(20000, ge=0)
    # seed of the untrained SAEs of the random baseline
    seed: int = 0


class CompareMetrics(EvalMetrics):
    mmcs_dec_a_to_b: float = metric("decoder mean max cosine, A to B (mean over pairs)", True)
    mmcs_dec_b_to_a: float = metric("decoder mean max cosine, B to A", True)
    mmcs_dec_sym: float = metric("decoder mean max cosine, mean of both directions", True)
    hungarian_dec_mean_cos: float = metric(
        "PW-MCC: mean cosine of the Hungarian-matched decoder pairs", True
    )
    hungarian_enc_mean_cos: float = metric("mean cosine of Hungarian-matched encoder pairs", True)
    frac_dec_matched_gt_0_5: float = metric(
        "fraction of matched decoder pairs with cos > 0.5", True
    )
    frac_dec_matched_gt_0_7: float = metric(
        "fraction of matched decoder pairs with cos > 0.7", True
    )
    frac_dec_matched_gt_0_9: float = metric(
        "fraction of matched decoder pairs with cos > 0.9", True
    )
    frac_shared_pb_0_7: float = metric(
        "Paulo & Belrose shared latents: matched decoder and encoder cos both > 0.7", True
    )
    enc_dec_matching_agree: float = metric(
        "fraction of latents whose decoder and encoder matchings give the same partner", True
    )
    act_semi_matching_mean_corr: float | None = metric(
        "activation correlation, mean over latents of the best partner's (both ways)", True
    )
    act_hungarian_mean_corr: float | None = metric(
        "mean activation correlation of the Hungarian-matched latent pairs", True
    )
    act_frac_matched_corr_gt_0_7: float | None = metric(
        "fraction of Hungarian-matched latent pairs with activation correlation > 0.7", True
    )
    hungarian_dec_mean_cos_sd: float = metric("sd over pairs of hungarian_dec_mean_cos", None)
    random_baseline_mmcs: float = metric("mmcs_dec_sym of two untrained SAEs of these shapes", None)
    random_baseline_hungarian: float = metric(
        "hungarian_dec_mean_cos of two untrained SAEs of these shapes", None
    )
    random_baseline_act_hungarian: float | None = metric(
        "act_hungarian_mean_corr of two untrained SAEs of these shapes", None
    )
    n_pairs: float = metric("pairs of SAEs compared", None)


# the per-pair metrics averaged into the record (all but the sd, baselines and count)
PAIR_METRICS = tuple(
    name
    for name in CompareMetrics.model_fields
    if not name.endswith("_sd") and not name.startswith("random_") and name != "n_pairs"
)
