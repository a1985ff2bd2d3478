"""Example windows of chosen latents, collected while the shared pass streams.

For a fixed set of latents (chosen before the pass: which latents are alive is known only at
the end, so the caller samples among all latents and reports the dead and too-rare ones by
their firing counts), :class:`ExampleCollector` keeps, per latent:

* the **top windows**: the ``n_top`` highest peaks whose windows do not overlap. A window of a
  peak at position ``p`` covers ``[p - before, p + after]`` clipped to its context, so two
  windows of one context overlap iff their peaks are at most ``length - 1`` apart. The exact
  greedy selection (descending value, ties by context then position, a peak kept when it
  overlaps no kept one) only ever compares peaks of one context, so it is computed per
  context (non-maximum suppression, at most ``n_top`` rounds) and merged into a running top
  list: the result does not depend on how contexts are split into batches.
* a **uniform sample of activating tokens** (bottom-``reservoir`` of a hash of the seed, the
  latent and the token's place: exact, order-free), from which :func:`quantile_sample` draws
  windows across rank quantiles of the peak value (rank quantiles need no activation scale,
  so thresholded encoders, JumpReLU / TopK / BatchTopK, are treated like ReLU ones);
* **checked negatives**: a seeded pool of aligned, non-overlapping candidate windows shared by
  all latents, with each latent's maximum over each candidate; a candidate is a negative of a
  latent only if that maximum is 0 over every token of the window (never assumed).

A latent "activates" on a token when its code is positive (the codes of a PCA or random
dictionary may be negative: those count as not active). Memory is
``O(d_sae + n_latents * (n_top + reservoir) * length + n_latents * n_candidates)``: nothing
grows with the number of tokens. Special tokens have no code rows (they are never counted),
so they read as activation 0: shown in windows, never highlighted.

Example:
    >>> collector = ExampleCollector(d_sae=512, latents=torch.tensor([3, 40]), n_contexts=100,
    ...                              context_size=64)
    >>> for batch in batches:                         # SaeBatch of the shared pass
    ...     collector.add(batch.codes, *batch.row_places())
    >>> found = collector.finish()
    >>> found.latents[0].top[0]                       # a Window: context, start, acts, peak
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch
from torch import Tensor

_M32 = 0xFFFFFFFF


@dataclass
class Window:
    """One window of a context: tokens ``[start, start + len(acts))`` and the latent's
    activation on each (0 where it does not fire, and on special tokens)."""

    context: int
    start: int
    acts: list[float]
    peak: float  # the window's largest activation (0 for a negative)
    position: int = -1  # the peak's position in the context (-1 for a negative)

    @property
    def end(self) -> int:
        return self.start + len(self.acts)


@dataclass
class LatentWindows:
    """What was collected for one latent."""

    latent: int
    firing_count: int
    top: list[Window] = field(default_factory=list)  # descending peaks, non-overlapping
    sampled: list[Window] = field(default_factory=list)  # uniform sample of activating tokens
    negatives: list[Window] = field(default_factory=list)  # checked, in a seeded order


@dataclass
class CollectedExamples:
    n_tokens: int  # counted rows seen
    firing_counts: Tensor  # [d_sae] int64: tokens on which each latent's code is positive
    latents: list[LatentWindows]


def hash32(x: Tensor) -> Tensor:
    """A 32-bit integer mix (int64 in, values in [0, 2**32)), the same on every device."""
    x = x & _M32
    for _ in range(2):
        x = ((x >> 16) ^ x) * 0x45D9F3B & _M32
    return ((x >> 16) ^ x) & _M32


class ExampleCollector:
    """Streams code rows and keeps top, sampled and negative windows of ``latents``.

    ``add`` must receive whole contexts (every counted row of a context in one call), as the
    shared pass does. See the module docstring for what is kept and why it is exact.
    """

    def __init__(
        self,
        d_sae: int,
        latents: Tensor,
        n_contexts: int,
        context_size: int,
        *,
        length: int = 24,
        n_top: int = 8,
        reservoir: int = 64,
        n_candidates: int = 256,
        seed: int = 0,
    ) -> None:
        self.latents = latents.to(torch.long).cpu()
        self.context_size = context_size
        self.length = min(length, context_size)
        # the peak sits three quarters into its window: the text that leads to it is shown
        self.before = self.length - self.length // 4 - 1
        self.after = self.length - 1 - self.before
        self.n_top = n_top
        self.reservoir = reservoir
        self.seed = seed
        self.counts = torch.zeros(d_sae, dtype=torch.long)
        self.n_tokens = 0
        n = len(self.latents)
        self.top = _Buffer(n, n_top, self.length, torch.float64)
        self.sample = _Buffer(n, reservoir, self.length, torch.int64)
        self._latent_salt = hash32(self.latents + hash32(torch.tensor(seed)))
        self.cand_context, self.cand_start = _candidates(
            n_contexts, context_size, self.length, n_candidates, seed
        )
        self.cand_max = torch.full((len(self.cand_context), n), float("nan"))

    # -- streaming ----------------------------------------------------------------------
    def add(self, codes: Tensor, contexts: Tensor, positions: Tensor) -> None:
        """Add the code rows ``codes [n, d_sae]`` at ``(contexts, positions)`` (each ``[n]``)."""
        if codes.shape[0] == 0:
            return
        codes = codes.detach()
        # count and select on the codes' device: only n x n_latents values come to the CPU
        self.counts += (codes > 0).sum(0).cpu()
        chosen = codes[:, self.latents.to(codes.device)].float().clamp_min(0).cpu()
        contexts, positions = contexts.cpu(), positions.cpu()
        self.n_tokens += codes.shape[0]
        first = int(contexts.min())
        n_ctx = int(contexts.max()) - first + 1
        dense = torch.zeros(n_ctx, self.context_size, len(self.latents))
        dense[contexts - first, positions] = chosen
        self._add_top(dense, first)
        self._add_sample(dense, first)
        self._add_negatives(dense, first)

    def _windows(self, dense: Tensor, rows: Tensor, peaks: Tensor) -> Tensor:
        """Activations ``[m, length]`` around ``peaks`` of (local context ``rows``, latent
        column); NaN outside the context."""
        rows_ctx, cols = rows
        offsets = torch.arange(-self.before, self.after + 1)
        at = peaks.unsqueeze(1) + offsets
        inside = (at >= 0) & (at < self.context_size)
        values = dense[rows_ctx.unsqueeze(1), at.clamp(0, self.context_size - 1), cols.unsqueeze(1)]
        return torch.where(inside, values, torch.full_like(values, float("nan")))

    def _add_top(self, dense: Tensor, first: int) -> None:
        work = dense.clone()
        position = torch.arange(self.context_size).view(1, -1, 1)
        found = []
        for _ in range(self.n_top):
            peak = work.argmax(dim=1)  # [ctx, latent]: the first maximum on ties
            value = work.gather(1, peak.unsqueeze(1)).squeeze(1)
            if not bool((value > 0).any()):
                break
            rows = (value > 0).nonzero(as_tuple=True)
            found.append((value[rows], rows, peak[rows]))
            near = (position - peak.unsqueeze(1)).abs() <= self.length - 1
            work = work.masked_fill(near & (value > 0).unsqueeze(1), 0.0)
        if not found:
            return
        values = torch.cat([f[0] for f in found])
        ctx = torch.cat([f[1][0] for f in found])
        col = torch.cat([f[1][1] for f in found])
        peaks = torch.cat([f[2] for f in found])
        acts = self._windows(dense, (ctx, col), peaks)
        self.top.merge(col, -values, ctx + first, peaks, acts)

    def _add_sample(self, dense: Tensor, first: int) -> None:
        ctx, pos, col = (dense > 0).nonzero(as_tuple=True)
        if len(ctx) == 0:
            return
        token = (ctx + first) * self.context_size + pos
        # a random 32-bit rank per (latent, token), then the token index: unique and order-free
        key = (hash32(token + self._latent_salt[col]) << 31) + (token & 0x7FFFFFFF)
        # only each latent's ``reservoir`` smallest keys of this batch can survive the merge
        order = torch.argsort(key, stable=True)
        order = order[torch.argsort(col[order], stable=True)]
        sorted_col = col[order]
        group_start = torch.searchsorted(sorted_col, sorted_col, right=False)
        keep = order[torch.arange(len(order)) - group_start < self.reservoir]
        ctx, pos, col, key = ctx[keep], pos[keep], col[keep], key[keep]
        acts = self._windows(dense, (ctx, col), pos)
        self.sample.merge(col, key, ctx + first, pos, acts, peak_values=dense[ctx, pos, col])

    def _add_negatives(self, dense: Tensor, first: int) -> None:
        here = (self.cand_context >= first) & (self.cand_context < first + dense.shape[0])
        index = here.nonzero(as_tuple=True)[0]
        if len(index) == 0:
            return
        ctx = self.cand_context[index] - first
        cols = self.cand_start[index].unsqueeze(1) + torch.arange(self.length)
        self.cand_max[index] = dense[ctx.unsqueeze(1), cols].amax(dim=1)

    # -- results --------------------------------------------------------------------------
    def finish(self) -> CollectedExamples:
        out = []
        for s, latent in enumerate(self.latents.tolist()):
            out.append(
                LatentWindows(
                    latent=latent,
                    firing_count=int(self.counts[latent]),
                    top=self.top.windows(s, self.before),
                    sampled=self.sample.windows(s, self.before),
                    negatives=self._negatives(s, latent),
                )
            )
        return CollectedExamples(self.n_tokens, self.counts.clone(), out)

    def _negatives(self, s: int, latent: int) -> list[Window]:
        checked = (self.cand_max[:, s] == 0).nonzero(as_tuple=True)[0].tolist()
        random.Random(f"{self.seed}/{latent}/negatives").shuffle(checked)
        return [
            Window(int(self.cand_context[i]), int(self.cand_start[i]), [0.0] * self.length, 0.0)
            for i in checked
        ]


class _Buffer:
    """Per-latent best ``size`` entries by ascending key; ties by context, then position."""

    def __init__(self, n_latents: int, size: int, length: int, dtype: torch.dtype) -> None:
        self.size = size
        self.empty = float("inf") if dtype.is_floating_point else torch.iinfo(dtype).max
        self.key = torch.full((n_latents, size), self.empty, dtype=dtype)
        self.context = torch.zeros(n_latents, size, dtype=torch.long)
        self.position = torch.zeros(n_latents, size, dtype=torch.long)
        self.peak = torch.zeros(n_latents, size)
        self.acts = torch.zeros(n_latents, size, length)

    def merge(self, col, key, context, position, acts, peak_values=None) -> None:
        """Merge candidates of latent columns ``col`` (``key`` ascending is better)."""
        peak_values = -key.float() if peak_values is None else peak_values
        for s in col.unique().tolist():
            pick = col == s
            keys = torch.cat([self.key[s], key[pick].to(self.key.dtype)])
            ctx = torch.cat([self.context[s], context[pick]])
            pos = torch.cat([self.position[s], position[pick]])
            order = _lexsort(keys, ctx, pos)[: self.size]
            self.acts[s] = torch.cat([self.acts[s], acts[pick]])[order]
            self.peak[s] = torch.cat([self.peak[s], peak_values[pick]])[order]
            self.key[s], self.context[s], self.position[s] = keys[order], ctx[order], pos[order]

    def windows(self, s: int, before: int) -> list[Window]:
        out = []
        keys, ctxs, poss = self.key[s].tolist(), self.context[s].tolist(), self.position[s].tolist()
        for key, ctx, pos, peak, acts in zip(
            keys, ctxs, poss, self.peak[s].tolist(), self.acts[s].tolist(), strict=True
        ):
            if key == self.empty:
                break
            first = next(i for i, a in enumerate(acts) if a == a)  # NaN != NaN: outside
            kept = [a for a in acts if a == a]
            out.append(Window(ctx, pos - before + first, kept, peak, pos))
        return out


def _lexsort(key: Tensor, context: Tensor, position: Tensor) -> Tensor:
    """Indices ordering by key, then context, then position (stable sorts, last key first)."""
    order = torch.argsort(position, stable=True)
    order = order[torch.argsort(context[order], stable=True)]
    return order[torch.argsort(key[order], stable=True)]


def _candidates(n_contexts: int, context_size: int, length: int, n: int, seed: int):
    """A seeded sample of ``n`` aligned windows ``(context, start)``: distinct, so disjoint."""
    per_context = context_size // length
    total = n_contexts * per_context
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randperm(total, generator=gen)[: min(n, total)].sort().values
    return pick // per_context, (pick % per_context) * length


def overlaps(a: Window, b: Window) -> bool:
    return a.context == b.context and a.start < b.end and b.start < a.end


def quantile_sample(
    windows: list[Window], n: int, n_quantiles: int, rng: random.Random, avoid=()
) -> list[tuple[int, Window]]:
    """``n`` windows drawn round-robin across ``n_quantiles`` equal-count rank slices of the
    peak value (slice 0 holds the largest), none overlapping another chosen one or ``avoid``;
    returns ``(slice, window)`` pairs in the order drawn.

    Example:
        >>> quantile_sample(found.latents[0].sampled, 10, 5, random.Random(0))
    """
    ranked = sorted(windows, key=lambda w: (-w.peak, w.context, w.position))
    n_quantiles = max(1, min(n_quantiles, len(ranked)))
    bounds = [round(q * len(ranked) / n_quantiles) for q in range(n_quantiles + 1)]
    pools = [ranked[bounds[q] : bounds[q + 1]] for q in range(n_quantiles)]
    for pool in pools:
        rng.shuffle(pool)
    chosen: list[tuple[int, Window]] = []
    taken = list(avoid)
    while len(chosen) < n and any(pools):
        for q, pool in enumerate(pools):
            while pool and len(chosen) < n:
                window = pool.pop()
                if not any(overlaps(window, t) for t in taken):
                    chosen.append((q, window))
                    taken.append(window)
                    break
    return chosen
