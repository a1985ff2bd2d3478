"""Per-block sums of a streamed pass and their bootstrap, with memory fixed by the number of
blocks (never by the number of samples).

Sample ``i`` (its context index: one sample is one context) goes to block ``i mod blocks``.
Each named quantity is summed per block (``[blocks, width]``, float64); the metrics are a
function of summed quantities, applied once to the totals (the value) and to every bootstrap
resample of blocks (the interval), so both come from the same code and neither depends on the
batch size.

Example:
    >>> sums = BlockSums(4)
    >>> sums.add(torch.tensor([0, 1, 5]), n=torch.ones(3, 1))
    >>> sums.total()["n"].tolist()
    [[3.0]]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from saebench.records import Interval

N_RESAMPLES = 1000
LEVEL = 0.95
CHUNK = 100  # resamples summed at once: memory CHUNK x width


class BlockSums:
    def __init__(self, blocks: int) -> None:
        self.blocks = blocks
        self.sums: dict[str, Tensor] = {}

    def add(self, samples: Tensor, **values: Tensor) -> None:
        """Add rows ``[n, k]`` of each named quantity for samples with these indices.
        Counts (bool) are summed per batch in float32, exact up to 2^24 rows."""
        samples = samples.to(next(iter(values.values())).device)
        for name, rows in values.items():
            exact = torch.float32 if rows.dtype == torch.bool else torch.float64
            part = self._per_block(samples, rows.to(exact)).double()
            self.sums[name] = part if name not in self.sums else self.sums[name] + part

    def _per_block(self, samples: Tensor, rows: Tensor) -> Tensor:
        """``[blocks, k]`` sums of the rows by block. A run of consecutive samples (what a
        synthetic source hands out) is padded and folded, O(n k); anything else goes
        through index_add_, which is several times slower on CPU."""
        n, blocks = rows.shape[0], self.blocks
        first = int(samples[0]) if n else 0
        if n and bool((samples == first + torch.arange(n, device=samples.device)).all()):
            front = first % blocks
            back = -(front + n) % blocks
            padded = torch.nn.functional.pad(rows, (0, 0, front, back))
            return padded.reshape(-1, blocks, rows.shape[1]).sum(0)
        part = torch.zeros(blocks, rows.shape[1], dtype=rows.dtype, device=rows.device)
        return part.index_add_(0, samples % blocks, rows)

    def total(self) -> dict[str, np.ndarray]:
        """Every quantity summed over all blocks, shape ``[1, width]``."""
        return {k: v.sum(0, keepdim=True).cpu().numpy() for k, v in self.sums.items()}

    def intervals(
        self,
        metrics: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
        *,
        seed: int = 0,
        n_resamples: int = N_RESAMPLES,
        level: float = LEVEL,
    ) -> dict[str, Interval]:
        """Percentile bootstrap over the blocks that hold samples; ``metrics`` maps summed
        quantities ``[r, width]`` to ``[r]`` values (NaN: undefined on that resample)."""
        blocks = {k: v.cpu().numpy() for k, v in self.sums.items()}
        seen = blocks["n"][:, 0] > 0
        blocks = {k: v[seen] for k, v in blocks.items()}
        n = int(seen.sum())
        names = list(metrics(self.total()))
        if n < 2:
            return {name: _interval(None, None, level, n) for name in names}
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(np.float64)
        samples: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for start in range(0, n_resamples, CHUNK):
            weights = counts[start : start + CHUNK]
            resampled = {k: weights @ v for k, v in blocks.items()}
            for name, values in metrics(resampled).items():
                samples[name].append(np.asarray(values, dtype=np.float64))
        out = {}
        tail = (1 - level) / 2 * 100
        for name in names:
            values = np.concatenate(samples[name])
            values = values[np.isfinite(values)]
            if values.size == 0:
                out[name] = _interval(None, None, level, n)
                continue
            low, high = np.percentile(values, [tail, 100 - tail])
            out[name] = _interval(float(low), float(high), level, n)
        return out


def _interval(low, high, level: float, n: int) -> Interval:
    return Interval(
        low=low, high=high, level=level, method="block_bootstrap", unit="sample_blocks", n=n
    )
