"""The metrics of one pair of SAEs: from their weights, and from their codes on shared rows.

Weights: decoder rows and encoder directions (the columns of ``W_enc``), each normalised;
``S = D_A D_B^T``. Codes: each latent's activations standardised over the rows (a latent
that never varies has correlation 0 with everything), ``C`` their Pearson matrix (Li et al.
2015). Definitions in docs/evaluators/compare.md.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from saebench.evaluators.compare.config import (
    CORRELATION_THRESHOLD,
    SHARED_THRESHOLD,
    THRESHOLDS,
    CompareConfig,
)
from saebench.toolkit.matching import CosineRows, Matching, Rows, match, match_and_max


def weight_metrics(a, b, config: CompareConfig) -> dict[str, float]:
    """Decoder MMCS both ways, Hungarian decoder and encoder matchings, the fractions of
    matched decoder pairs above each threshold, the shared latents and enc/dec agreement."""
    absolute = not config.signed
    dec = CosineRows(a.W_dec, b.W_dec, absolute)
    enc = CosineRows(a.W_enc.T, b.W_enc.T, absolute)
    on_dec, row_max, col_max = match_and_max(dec, config.max_exact_latents, config.candidates)
    to_b, to_a = float(row_max.mean()), float(col_max.mean())
    on_enc = match(enc, config.max_exact_latents, config.candidates)
    out = {
        "mmcs_dec_a_to_b": to_b,
        "mmcs_dec_b_to_a": to_a,
        "mmcs_dec_sym": (to_a + to_b) / 2,
        "hungarian_dec_mean_cos": on_dec.mean(),
        "hungarian_enc_mean_cos": on_enc.mean(),
        **{_above(t): on_dec.fraction_above(t) for t in THRESHOLDS},
        **agreement(on_dec, on_enc, a.W_dec.shape[0], SHARED_THRESHOLD),
        "exact": float(on_dec.exact and on_enc.exact),
    }
    return out


def _above(threshold: float) -> str:
    return f"frac_dec_matched_gt_{threshold}".replace(".", "_")


def agreement(on_dec: Matching, on_enc: Matching, n_a: int, threshold: float) -> dict:
    """Paulo & Belrose's shared fraction (a latent of A whose decoder partner and encoder
    partner are both above ``threshold``) and the fraction whose two partners are the same
    latent, both over the ``min(n_a, n_b)`` matched pairs."""
    n = len(on_dec.rows)
    dec_value = torch.full((n_a,), -math.inf)
    enc_value = torch.full((n_a,), -math.inf)
    dec_value[on_dec.rows] = on_dec.values
    enc_value[on_enc.rows] = on_enc.values
    dec_partner, enc_partner = on_dec.partner_of_rows(n_a), on_enc.partner_of_rows(n_a)
    shared = (dec_value > threshold) & (enc_value > threshold)
    same = (dec_partner == enc_partner) & (dec_partner >= 0)
    return {
        "frac_shared_pb_0_7": float(shared.sum()) / n if n else math.nan,
        "enc_dec_matching_agree": float(same.sum()) / n if n else math.nan,
    }


# codes denser than this are kept as a dense array (sparse products lose to BLAS there)
DENSE_ABOVE = 0.05


class CodeStats:
    """One SAE's codes on the shared rows (``[n, d_sae]``), with each latent's mean and
    the inverse of its standard deviation (0 for a latent that never varies: dead, or
    firing alike everywhere). Sparse codes stay sparse (float64, as given); dense ones are
    kept standardised (float32, centred first so nothing cancels)."""

    def __init__(self, codes) -> None:
        from scipy import sparse

        self.n = n = codes.shape[0]
        self.sparse = sparse.issparse(codes)
        codes = codes.tocsr().astype(np.float64) if self.sparse else np.asarray(codes, np.float64)
        total = np.asarray(codes.sum(axis=0)).ravel()
        squares = np.asarray(
            codes.multiply(codes).sum(axis=0) if self.sparse else (codes**2).sum(0)
        )
        squares = squares.ravel()
        self.mean = total / max(n, 1)
        variance = (squares - n * self.mean**2) / max(n - 1, 1)
        constant = variance <= 1e-10 * squares / max(n, 1)
        sd = np.sqrt(np.clip(variance, 0, None))
        self.scale = np.where(constant, 0.0, 1.0 / np.where(constant, 1.0, sd))
        if self.sparse:
            self.right = codes  # [n, d]
            self.left = codes.T.tocsr()  # [d, n]: a latent's row is its activations
        else:
            standard = ((codes - self.mean) * self.scale).astype(np.float32)
            self.right, self.left = standard, np.ascontiguousarray(standard.T)


class CorrelationRows(Rows):
    """Pearson correlations between the latents of two SAEs over the same rows, a block of
    A's latents at a time. A standardised side sums to 0 over the rows, so against it the
    other side needs no centring, only its scale."""

    def __init__(self, a: CodeStats, b: CodeStats) -> None:
        self.a, self.b = a, b
        self.n_rows, self.n_cols = a.left.shape[0], b.right.shape[1]

    def rows(self, index: Tensor) -> Tensor:
        a, b, idx = self.a, self.b, index.numpy()
        cross = a.left[idx] @ b.right
        cross = cross.toarray() if hasattr(cross, "toarray") else np.asarray(cross, np.float64)
        if a.sparse and b.sparse:
            cross -= a.n * a.mean[idx, None] * b.mean[None, :]
        if a.sparse:
            cross *= a.scale[idx, None]
        if b.sparse:
            cross *= b.scale[None, :]
        return torch.from_numpy((cross / max(a.n - 1, 1)).astype(np.float32))


def stack_codes(blocks: list):
    """One SAE's code blocks as one matrix: sparse unless a block was kept dense."""
    from scipy import sparse

    if all(sparse.issparse(block) for block in blocks):
        return sparse.vstack(blocks).tocsr()
    return np.vstack([b.toarray() if sparse.issparse(b) else b for b in blocks])


def code_block(codes: np.ndarray):
    """A block of codes as it is kept: sparse when at most ``DENSE_ABOVE`` of it is nonzero."""
    from scipy.sparse import csr_matrix

    density = np.count_nonzero(codes) / max(codes.size, 1)
    return csr_matrix(codes) if density <= DENSE_ABOVE else codes


def activation_metrics(a: CodeStats, b: CodeStats, config: CompareConfig) -> dict[str, float]:
    """Semi-matching (each latent's best correlation, both ways), Hungarian matching on the
    correlations and the fraction of matched pairs above 0.7."""
    corr = CorrelationRows(a, b)
    matched, row_max, col_max = match_and_max(corr, config.max_exact_latents, config.candidates)
    to_b, to_a = float(row_max.mean()), float(col_max.mean())
    return {
        "act_semi_a_to_b": to_b,
        "act_semi_b_to_a": to_a,
        "act_semi_matching_mean_corr": (to_a + to_b) / 2,
        "act_hungarian_mean_corr": matched.mean(),
        "act_frac_matched_corr_gt_0_7": matched.fraction_above(CORRELATION_THRESHOLD),
    }
