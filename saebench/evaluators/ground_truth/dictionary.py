"""What the weights alone say: the SAE's decoder matched to the true features (MCC,
uniqueness), random decoders of the same width matched the same way (the null), and the
superposition of the true dictionary.

Cosines are of unit-normalised rows (norms clamped at 1e-8, as SAELens), so decoders whose
rows are not unit norm (transcoders, SAEs trained without a norm constraint) are compared by
direction only.

Example:
    >>> m = match(sae.W_dec, model.features)
    >>> m.mcc, m.uniqueness, m.best[:5]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from saebench.toolkit.matching import assign, cosines, unit_rows


@dataclass
class Matching:
    """An SAE decoder ``[d_sae, D]`` against true features ``[N, D]`` by |cos|."""

    best: Tensor  # [d_sae] each latent's best-matching feature (argmax |cos|)
    rows: Tensor  # [pairs] latents of the Hungarian pairs
    cols: Tensor  # [pairs] their features
    matched: Tensor  # [pairs] |cos| of each pair
    partner: Tensor  # [N] each feature's Hungarian latent, -1 for none (N > d_sae)
    mcc: float  # mean |cos| over the min(d_sae, N) pairs
    uniqueness: float  # distinct best features / d_sae


def match(decoder: Tensor, features: Tensor) -> Matching:
    """Hungarian matching on |cos| (SAELens ``mean_correlation_coefficient``) and the
    argmax match of every latent (``feature_uniqueness``, the classification metrics)."""
    similarity = cosines(decoder.detach().float().cpu(), features.detach().float().cpu()).abs()
    best = similarity.argmax(dim=1)
    rows, cols = assign(similarity)
    matched = similarity[rows, cols]
    partner = torch.full((features.shape[0],), -1, dtype=torch.int64)
    partner[cols] = rows
    d_sae = decoder.shape[0]
    return Matching(
        best=best,
        rows=rows,
        cols=cols,
        matched=matched,
        partner=partner,
        mcc=float(matched.double().mean()) if len(matched) else 0.0,
        uniqueness=len(torch.unique(best)) / d_sae if d_sae else 0.0,
    )


def random_decoders(features: Tensor, d_sae: int, draws: int, seed: int) -> dict[str, list]:
    """MCC and uniqueness of ``draws`` random decoders (Gaussian rows, so uniform unit
    directions), draw ``i`` seeded with ``seed + i``: the null of a decoder that learnt
    nothing, at the SAE's width and the same true features."""
    out: dict[str, list] = {"mcc": [], "uniqueness": []}
    for i in range(draws):
        generator = torch.Generator().manual_seed(seed + i)
        decoder = torch.randn(d_sae, features.shape[1], generator=generator)
        m = match(decoder, features)
        out["mcc"].append(m.mcc)
        out["uniqueness"].append(m.uniqueness)
    return out


def superposition(features: Tensor, percentiles=(95, 99)) -> dict[str, float]:
    """How much the true features overlap (SAELens ``compute_superposition_stats``): per
    feature the max and the given percentiles of |cos| with every other feature, averaged
    over features, and the mean |cos| over all pairs. Rows in chunks: memory O(chunk x N)."""
    unit = unit_rows(features.cpu())
    n = unit.shape[0]
    if n < 2:
        return {}
    chunk = max(1, 2**22 // n)
    maxes, total = torch.zeros(n), 0.0
    at = {p: torch.zeros(n) for p in percentiles}
    for start in range(0, n, chunk):
        block = (unit[start : start + chunk] @ unit.T).abs()
        rows = torch.arange(block.shape[0])
        block[rows, rows + start] = 2.0  # itself: sorts last, then dropped
        others = block.sort(dim=1).values[:, :-1]  # the n - 1 other features, ascending
        maxes[start : start + chunk] = others[:, -1]
        for p in percentiles:
            at[p][start : start + chunk] = _quantile_sorted(others, p / 100)
        total += float(others.double().sum())
    out = {"num_features": n, "hidden_dim": unit.shape[1]}
    out["mean_max_abs_cos"] = float(maxes.double().mean())
    out.update({f"mean_p{p}_abs_cos": float(at[p].double().mean()) for p in percentiles})
    out["mean_abs_cos"] = total / (n * (n - 1))
    return out


def _quantile_sorted(rows: Tensor, q: float) -> Tensor:
    """The ``q`` quantile of each ascending row, linear interpolation (torch.quantile's)."""
    position = q * (rows.shape[1] - 1)
    low = int(position)
    high = min(low + 1, rows.shape[1] - 1)
    return rows[:, low] + (position - low) * (rows[:, high] - rows[:, low])
