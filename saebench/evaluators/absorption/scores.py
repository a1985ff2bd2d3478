"""Per-token absorption and its aggregation, as sae-bench 0.6.0 defines them
(``feature_absorption_calculator.py`` and ``main.py``), vectorised over tokens.

For a token whose ground-truth probe fires, with ``a`` the activation, ``p`` the unit probe
direction, ``f`` the SAE's codes and ``c_i = cos(W_dec[i], p)``:

* ``probe_proj = a . p`` and per latent ``proj_i = f_i c_i``; ``main = sum of proj_i`` over
  the letter's split (main) latents;
* absorption fraction (PR 62, current): ``A`` = the sum of the (at most 3) largest
  ``proj_i`` among the other latents with ``c_i >= 0.1`` and ``proj_i > 0``. It is 0 when
  ``main >= probe_proj`` or ``A / probe_proj < 0.4``, else 1 when ``main <= 0``, else
  ``m / (m + main)`` with ``m = min(A, probe_proj - main)``, clipped to [0, 1];
* absorption fraction (PR 48, sae-bench 0.3.2, what the SAEBench paper plotted as
  ``1 - x``): with ``T`` the sum of every ``proj_i``, 0 when ``main >= probe_proj`` or
  ``T <= 0``, else ``(T - main) / T`` clipped to [0, 1];
* full absorption: every main latent below ``1e-8``, and the latent of largest ``proj_i``
  has ``c_i >= 0.025``, ``probe_proj >= 0`` and ``proj_i / probe_proj >= 0.4``.

A letter's value is the mean over its tokens; the metric is the mean over letters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saebench.records import Interval
from saebench.toolkit.intervals import LEVEL, N_RESAMPLES

EPS = 1e-8  # a main latent below this is silent (SAEBench)
FULL_COS = 0.025  # cosine of the top latent with the probe, full absorption
FRACTION_COS = 0.1  # cosine of a candidate absorbing latent, absorption fraction
PROPORTION = 0.4  # share of the probe projection the absorbers must carry, both metrics
MAX_ABSORBERS = 3  # latents summed as absorbers, absorption fraction


@dataclass(frozen=True)
class TokenScores:
    """Per token of one letter: the three per-token quantities, and the pieces."""

    fraction: np.ndarray  # [n] absorption fraction (current definition)
    fraction_legacy: np.ndarray  # [n] absorption fraction (PR 48)
    full: np.ndarray  # [n] bool, full absorption
    probe_proj: np.ndarray  # [n]
    main_proj: np.ndarray  # [n]


def token_scores(acts, codes, probe_dir, decoder_cos, main: list[int]) -> TokenScores:
    """The absorption of each row of ``acts [n, d]`` with SAE codes ``codes [n, d_sae]``
    for a unit probe direction ``probe_dir [d]``; ``decoder_cos [d_sae]`` is each decoder
    row's cosine with it, ``main`` the letter's split latents. float64 throughout."""
    a, f = np.asarray(acts, np.float64), np.asarray(codes, np.float64)
    cos = np.asarray(decoder_cos, np.float64)
    probe_proj = a @ np.asarray(probe_dir, np.float64)
    proj = f * cos
    main_proj = proj[:, main].sum(1)
    return TokenScores(
        fraction=_fraction(proj, cos, main, probe_proj, main_proj),
        fraction_legacy=_fraction_legacy(proj, probe_proj, main_proj),
        full=_full(f, proj, cos, main, probe_proj),
        probe_proj=probe_proj,
        main_proj=main_proj,
    )


def _fraction(proj, cos, main, probe_proj, main_proj) -> np.ndarray:
    candidates = np.where((cos >= FRACTION_COS) & (proj > 0), proj, 0.0)
    candidates[:, main] = 0.0
    k = min(MAX_ABSORBERS, proj.shape[1])
    absorbed = -np.sort(-candidates, axis=1)[:, :k].sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = absorbed / probe_proj
        m = np.minimum(absorbed, probe_proj - main_proj)
        partial = np.clip(m / (m + main_proj), 0.0, 1.0)
    out = np.where(main_proj <= 0, 1.0, partial)
    none = (main_proj >= probe_proj) | ~(share >= PROPORTION)
    return np.where(none, 0.0, out)


def _fraction_legacy(proj, probe_proj, main_proj) -> np.ndarray:
    total = proj.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.clip((total - main_proj) / total, 0.0, 1.0)
    return np.where((main_proj >= probe_proj) | (total <= 0), 0.0, value)


def _full(f, proj, cos, main, probe_proj) -> np.ndarray:
    silent = (f[:, main] < EPS).all(1)
    top = proj.argmax(1)
    top_proj = proj[np.arange(len(proj)), top]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = top_proj / probe_proj
    return silent & (cos[top] >= FULL_COS) & (probe_proj >= 0) & (share >= PROPORTION)


@dataclass(frozen=True)
class LetterScores:
    """One letter's tokens (probe true positives) and its split latents."""

    letter: str
    tokens: TokenScores
    split: list[int]

    def summary(self) -> dict:
        t = self.tokens
        return {
            "letter": self.letter,
            "num_probe_true_positives": len(t.fraction),
            "split_latents": self.split,
            "num_split_latents": len(self.split),
            "mean_absorption_fraction": float(t.fraction.mean()),
            "mean_absorption_fraction_legacy": float(t.fraction_legacy.mean()),
            "full_absorption_rate": float(t.full.mean()),
            "num_full_absorption": int(t.full.sum()),
        }


def letter_means(letters: list[LetterScores], field: str) -> float:
    """The mean over letters of each letter's mean of ``field`` over its tokens."""
    return float(np.mean([getattr(s.tokens, field).mean() for s in letters]))


def token_interval(letters: list[LetterScores], field: str, seed: int = 0) -> Interval:
    """Percentile bootstrap of :func:`letter_means`, resampling tokens within each letter
    (the test words are a sample of the vocabulary; the letters are all there are)."""
    rng = np.random.default_rng(seed)
    n = sum(len(s.tokens.fraction) for s in letters)
    if n < 2:
        return Interval(low=None, high=None, level=LEVEL, method="bootstrap", unit="tokens", n=n)
    means = np.zeros(N_RESAMPLES)
    for s in letters:
        values = np.asarray(getattr(s.tokens, field), np.float64)
        picks = rng.integers(0, len(values), size=(N_RESAMPLES, len(values)))
        means += values[picks].mean(1)
    means /= len(letters)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(
        low=float(low),
        high=float(high),
        level=LEVEL,
        method="stratified_bootstrap",
        unit="tokens",
        n=n,
    )
