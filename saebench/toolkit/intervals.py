"""Confidence intervals from an evaluator's own sampling unit, reproducible by seed.

Three tools cover every evaluator:
- :class:`ContextSums` accumulates per-context sums of a streamed pass; its block bootstrap
  resamples whole contexts (tokens of one context are not independent) and recomputes the
  metrics from the resampled sums, so the interval does not depend on the batch size;
- :func:`bootstrap` resamples independent units (pairs, latents, test rows) for any statistic;
- :func:`wilson` is the closed form for a proportion of independent trials.

All of them use numpy only (float64) and a fixed seed, so an interval is a function of the
data alone.

Example:
    >>> iv = bootstrap([0.0, 1.0, 1.0, 1.0], unit="pairs")
    >>> 0.0 <= iv.low <= 0.75 <= iv.high <= 1.0
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from saebench.records import Interval

N_RESAMPLES = 1000
LEVEL = 0.95


def _percentiles(samples: np.ndarray, level: float) -> tuple[float | None, float | None]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None, None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap(
    values: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], float] | None = None,
    *,
    unit: str,
    seed: int = 0,
    n_resamples: int = N_RESAMPLES,
    level: float = LEVEL,
) -> Interval:
    """Percentile bootstrap over independent units (rows of ``values``).

    ``statistic`` maps a resample (an array of rows) to a number; the default is the mean.
    With fewer than two units the interval is unknown (``None`` bounds).
    """
    data = np.asarray(values, dtype=np.float64)
    n = int(data.shape[0]) if data.ndim else 0
    if n < 2:
        return Interval(low=None, high=None, level=level, method="bootstrap", unit=unit, n=n)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(n_resamples, n))
    if statistic is None and data.ndim == 1:
        samples = data[picks].mean(axis=1)
    else:
        stat = statistic or (lambda rows: float(np.mean(rows)))
        samples = np.array([stat(data[row]) for row in picks], dtype=np.float64)
    low, high = _percentiles(samples, level)
    return Interval(low=low, high=high, level=level, method="bootstrap", unit=unit, n=n)


def wilson(successes: int, trials: int, *, unit: str, level: float = LEVEL) -> Interval:
    """Wilson score interval of a proportion (accuracy over independent test rows, say)."""
    if trials <= 0:
        return Interval(low=None, high=None, level=level, method="wilson", unit=unit, n=0)
    z = _normal_quantile(1 - (1 - level) / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return Interval(
        low=max(0.0, centre - half),
        high=min(1.0, centre + half),
        level=level,
        method="wilson",
        unit=unit,
        n=trials,
    )


def seed_spread(values: Sequence[float], *, unit: str = "seeds", level: float = LEVEL) -> Interval:
    """A t interval of the mean over reseeded runs (each seed redraws sample and training)."""
    data = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(data.size)
    if n < 2:
        return Interval(low=None, high=None, level=level, method="seeds", unit=unit, n=n)
    from scipy.stats import t

    half = float(t.ppf(1 - (1 - level) / 2, n - 1) * data.std(ddof=1) / math.sqrt(n))
    mean = float(data.mean())
    return Interval(low=mean - half, high=mean + half, level=level, method="seeds", unit=unit, n=n)


def _normal_quantile(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


class ContextSums:
    """Per-context sums of a streamed pass, for a block bootstrap over contexts.

    Each call to :meth:`add` gives, for some token rows, the index of the context each row
    came from and a ``[rows, k]`` array of the quantities to sum (errors, counts, ...). The
    sums per context are kept in float64; :meth:`intervals` resamples contexts with
    replacement, sums the resampled contexts and applies ``metrics`` (sums -> {name: value}).

    Example:
        >>> sums = ContextSums(2)
        >>> sums.add(np.array([0, 0, 1]), np.array([[1.0, 1], [3, 1], [5, 1]]))
        >>> sums.total().tolist()
        [9.0, 3.0]
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self._sums = np.zeros((0, width), dtype=np.float64)

    def add(self, contexts: np.ndarray, values: np.ndarray) -> None:
        contexts = np.asarray(contexts, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64).reshape(len(contexts), self.width)
        if contexts.size == 0:
            return
        needed = int(contexts.max()) + 1
        if needed > self._sums.shape[0]:
            grown = np.zeros((max(needed, 2 * self._sums.shape[0]), self.width))
            grown[: self._sums.shape[0]] = self._sums
            self._sums = grown
        np.add.at(self._sums, contexts, values)

    def add_rows(self, contexts, values) -> None:
        """Add token rows given as torch tensors (``contexts [rows]``, ``values [rows, k]``),
        reduced per context in torch first (much faster than adding row by row)."""
        import torch

        if contexts.numel() == 0:
            return
        ids, inverse = torch.unique(contexts, return_inverse=True)
        totals = torch.zeros(len(ids), self.width, dtype=torch.float64, device=values.device)
        totals.index_add_(0, inverse, values.to(torch.float64))
        self.add(ids.cpu().numpy(), totals.cpu().numpy())

    @property
    def per_context(self) -> np.ndarray:
        """The sums of every context seen so far (contexts with no row are dropped)."""
        seen = np.any(self._sums != 0, axis=1)
        return self._sums[seen]

    def total(self) -> np.ndarray:
        return self._sums.sum(axis=0)

    def intervals(
        self,
        metrics: Callable[[np.ndarray], dict[str, float | None]],
        *,
        seed: int = 0,
        n_resamples: int = N_RESAMPLES,
        level: float = LEVEL,
    ) -> dict[str, Interval]:
        """Block-bootstrap intervals of every metric ``metrics(sums)`` returns."""
        blocks = self.per_context
        n = int(blocks.shape[0])
        names = list(metrics(self.total()))
        if n < 2:
            return {
                name: Interval(
                    low=None, high=None, level=level, method="block_bootstrap", unit="contexts", n=n
                )
                for name in names
            }
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(np.float64)
        resampled = counts @ blocks  # [n_resamples, width]
        samples = {name: np.empty(n_resamples) for name in names}
        for i, sums in enumerate(resampled):
            for name, value in metrics(sums).items():
                samples[name][i] = np.nan if value is None else value
        out = {}
        for name in names:
            low, high = _percentiles(samples[name], level)
            out[name] = Interval(
                low=low, high=high, level=level, method="block_bootstrap", unit="contexts", n=n
            )
        return out
