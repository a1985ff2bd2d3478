"""The tensor work of the ``mdl`` evaluator: its two passes, as :mod:`saebench.evaluators.mdl`
describes them, then :meth:`MdlStatistics.summary`, the plain numbers from which the
evaluator chooses the precision. Kept apart so that listing evaluators loads no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import Tensor

from saebench.errors import SaebenchError

if TYPE_CHECKING:
    from saebench.evaluators import SaeBatch

_ENTROPY_CHUNK = 2**22  # histogram cells turned into float64 at once in summary()


@dataclass
class Ranges:
    """Pass-1 statistics (float64 except the counts)."""

    n_tokens: int
    fires: Tensor  # [d_sae] int64
    code_lo: Tensor  # [d_sae] min nonzero value (log of it for the log quantiser)
    code_width: Tensor  # [d_sae] max - min (in log space for the log quantiser)
    target_lo: Tensor  # [d_out]
    target_width: Tensor  # [d_out]
    target_mean: Tensor  # [d_out]


class Precisions(Protocol):
    """What the statistics read of an ``MdlConfig`` (a protocol, so this module does not
    import the evaluator that imports it)."""

    bits: list[int]
    dense_bits: list[int]
    quantizer: str


BLOCKS = 64  # blocks of contexts the description length's interval resamples


@dataclass
class MdlSummary:
    """What the evaluator needs of both passes, as plain numbers."""

    n_tokens: int
    d_sae: int
    d_out: int
    alive_latents: int
    l0: float
    fvu: float  # of the unquantised codes
    # per code precision: bits, description length and its two parts, FVU
    curve: list[dict[str, Any]]
    dense_fvus: list[float]  # per dense precision
    # for the interval: firing counts and tokens per block of contexts, and each latent's
    # value entropy (bits) at every code precision
    block_fires: Any = None
    block_tokens: Any = None
    value_entropies: list[Any] | None = None


class MdlStatistics:
    """The running statistics of one SAE over both passes.

    Example:
        >>> stats = MdlStatistics(MdlConfig(bits=[2, 4]), context.once)
        >>> for batch in batches_of_pass_0 + batches_of_pass_1:
        ...     stats.add(batch)
        >>> stats.summary().curve[0]["description_length_bits_per_token"]
    """

    def __init__(self, config: Precisions, once: Callable[..., Any]) -> None:
        self.config = config
        self.once = once  # EvalContext.once: SAEs on one target hook share a DenseCurve
        self.fine_bits = max(config.bits)
        # pass 1
        self.n_tokens = 0
        self.fires: Tensor | None = None
        self.code_min: Tensor | None = None
        self.code_max: Tensor | None = None
        self.target_min: Tensor | None = None
        self.target_max: Tensor | None = None
        self.target_sum: Tensor | None = None
        self.block_fires: Tensor | None = None  # [BLOCKS, d_sae]
        self.block_tokens: Tensor | None = None  # [BLOCKS]
        # pass 2
        self.ranges: Ranges | None = None
        self.n_tokens_2 = 0
        self.hist: Tensor | None = None
        self.sse_exact = 0.0
        self.variance = 0.0
        self.sse_codes = torch.zeros(len(config.bits), dtype=torch.float64)
        self.dense: DenseCurve | None = None
        self._w_dec: Tensor | None = None

    @torch.no_grad()
    def add(self, batch: SaeBatch) -> None:
        if batch.codes.shape[0] == 0:
            return
        if batch.pass_index == 0:
            self._gather_ranges(batch)
        elif batch.pass_index == 1:
            self._accumulate(batch)

    # -- pass 1: ranges ---------------------------------------------------------------------
    def _gather_ranges(self, batch: SaeBatch) -> None:
        codes = batch.codes.detach()  # min and max are exact in the codes' own dtype
        target = batch.target.detach().double()
        active = codes != 0
        if self.config.quantizer == "log" and bool((codes < 0).any()):
            raise SaebenchError(
                "mdl: the log quantiser needs positive codes but this SAE has negative ones; "
                "set quantizer='uniform'"
            )
        low = torch.where(active, codes, math.inf).amin(0).double()
        high = torch.where(active, codes, -math.inf).amax(0).double()
        fires = active.sum(0, dtype=torch.int64)
        self._add_blocks(batch, active)
        if self.fires is None:
            self.fires, self.code_min, self.code_max = fires, low, high
            self.target_min, self.target_max = target.amin(0), target.amax(0)
            self.target_sum = target.sum(0)
        else:
            self.fires += fires
            self.code_min = torch.minimum(self.code_min, low)
            self.code_max = torch.maximum(self.code_max, high)
            self.target_min = torch.minimum(self.target_min, target.amin(0))
            self.target_max = torch.maximum(self.target_max, target.amax(0))
            self.target_sum += target.sum(0)
        self.n_tokens += codes.shape[0]

    def _add_blocks(self, batch: SaeBatch, active: Tensor) -> None:
        """Firing counts per block of contexts (context index mod ``BLOCKS``), for the
        interval: whole contexts stay together, and memory does not grow with tokens."""
        if self.block_fires is None:
            self.block_fires = torch.zeros(BLOCKS, active.shape[1], dtype=torch.float64)
            self.block_tokens = torch.zeros(BLOCKS, dtype=torch.float64)
        blocks = (batch.row_places()[0] % BLOCKS).cpu()
        self.block_fires.index_add_(0, blocks, active.cpu().double())
        self.block_tokens.index_add_(0, blocks, torch.ones(len(blocks), dtype=torch.float64))

    def _freeze_ranges(self) -> Ranges:
        if self.fires is None:
            raise SaebenchError("mdl: the second pass started before any token was seen")
        alive = self.fires > 0
        lo = torch.where(alive, self.code_min, 0.0)
        hi = torch.where(alive, self.code_max, 0.0)
        if self.config.quantizer == "log":
            lo, hi = torch.where(alive, lo.log(), 0.0), torch.where(alive, hi.log(), 0.0)
        return Ranges(
            n_tokens=self.n_tokens,
            fires=self.fires,
            code_lo=lo,
            code_width=hi - lo,
            target_lo=self.target_min,
            target_width=self.target_max - self.target_min,
            target_mean=self.target_sum / self.n_tokens,
        )

    # -- pass 2: histograms and errors at every precision -----------------------------------
    def _accumulate(self, batch: SaeBatch) -> None:
        if self.ranges is None:
            self.ranges = self._freeze_ranges()
            # a bin never counts more than n_tokens, so int32 halves the memory safely
            dtype = torch.int32 if self.n_tokens < 2**31 else torch.int64
            size = batch.codes.shape[1] << self.fine_bits
            self.hist = torch.zeros(size, dtype=dtype, device=batch.codes.device)
        target = batch.target.detach().double()
        x_hat = batch.x_hat.detach().double()
        self.sse_exact += float((target - x_hat).pow(2).sum())
        self.variance += float((target - self.ranges.target_mean).pow(2).sum())
        self.n_tokens_2 += target.shape[0]
        self._accumulate_codes(batch, target, x_hat)
        self._dense_curve(batch).add(batch.batch_index, target)

    def _accumulate_codes(self, batch: SaeBatch, target: Tensor, x_hat: Tensor) -> None:
        """Histogram the nonzero codes at the finest precision; SSE at every precision."""
        rows, cols = batch.codes.nonzero(as_tuple=True)
        values = batch.codes[rows, cols].detach().double()
        lo, width = self.ranges.code_lo[cols], self.ranges.code_width[cols]
        log = self.config.quantizer == "log"
        top = self.fine_bits
        fine = bin_index(values.log() if log else values, lo, width, top)
        self.hist.index_add_(0, (cols << top) + fine, torch.ones_like(fine, dtype=self.hist.dtype))
        for j, b in enumerate(self.config.bits):
            centre = bin_centre(fine >> (top - b), lo, width, b)
            quantised = centre.exp() if log else centre
            x_q = self._reconstruct(batch, x_hat, rows, cols, quantised - values)
            self.sse_codes[j] += float((target - x_q).pow(2).sum())

    def _dense_curve(self, batch: SaeBatch) -> DenseCurve:
        """The dense baseline depends only on the target, so SAEs that share a target hook
        share one curve (made once per run) instead of each computing it."""
        if self.dense is None:
            meta = batch.sae.meta
            bits, ranges = self.config.dense_bits, self.ranges
            self.dense = self.once(
                "mdl_dense_curve",
                lambda: DenseCurve(bits, ranges),
                site=meta.output_hook,
                depends_on=[meta.reshape_activations, meta.hook_head_index, bits, ranges.n_tokens],
            )
        return self.dense

    def _reconstruct(self, batch, x_hat, rows, cols, delta) -> Tensor:
        """Reconstruction (float64) of the codes changed by ``delta`` at ``(rows, cols)``."""
        sae = batch.sae
        if not affine_decoder(sae):
            codes = batch.codes.detach().double().index_put((rows, cols), delta, accumulate=True)
            return batch.decode(codes.to(batch.codes.dtype)).double()
        if self._w_dec is None:
            self._w_dec = sae.W_dec.detach().double()
        return x_hat + sparse_decode_delta(sae, self._w_dec, batch.x, rows, cols, delta)

    # -- the result -------------------------------------------------------------------------
    def summary(self) -> MdlSummary:
        """Both passes reduced to numbers; refuses incomplete or degenerate passes."""
        self._check_complete()
        ranges = self.ranges
        return MdlSummary(
            n_tokens=ranges.n_tokens,
            d_sae=ranges.fires.numel(),
            d_out=ranges.target_lo.numel(),
            alive_latents=int((ranges.fires > 0).sum()),
            l0=float(ranges.fires.sum()) / ranges.n_tokens,
            fvu=self.sse_exact / self.variance,
            curve=self._curve(),
            dense_fvus=(self.dense.sse / self.variance).tolist(),
            block_fires=self.block_fires.numpy(),
            block_tokens=self.block_tokens.numpy(),
            value_entropies=[e.numpy() for e in value_entropies(self.hist.cpu(), self.config.bits)],
        )

    def _curve(self) -> list[dict[str, Any]]:
        """Description length and FVU at every candidate precision."""
        cfg, ranges = self.config, self.ranges
        p = ranges.fires.cpu().double() / ranges.n_tokens
        firing_bits = float(binary_entropy(p).sum())
        entropies = value_entropies(self.hist.cpu(), cfg.bits)
        curve = []
        for j, b in enumerate(cfg.bits):
            value_bits = float((p * entropies[j]).sum())
            curve.append(
                {
                    "bits": b,
                    "description_length_bits_per_token": firing_bits + value_bits,
                    "firing_bits_per_token": firing_bits,
                    "value_bits_per_token": value_bits,
                    "fvu": float(self.sse_codes[j]) / self.variance,
                }
            )
        return curve

    def _check_complete(self) -> None:
        if self.n_tokens == 0:
            raise SaebenchError("mdl: no tokens were evaluated")
        if self.ranges is None or self.n_tokens_2 != self.n_tokens:
            raise SaebenchError(
                f"mdl: the two passes saw {self.n_tokens} and {self.n_tokens_2} tokens; the "
                "evaluator needs the same tokens twice (Needs(passes=2))"
            )
        if not self.variance > 0:
            raise SaebenchError("mdl: the target has zero variance, so the FVU is undefined")


class DenseCurve:
    """Squared error of the target quantised per dimension, at every dense precision.

    Batches are identified by index so that each is counted once however many evaluators
    share the curve.
    """

    def __init__(self, bits: list[int], ranges: Ranges) -> None:
        self.bits = bits
        self.lo, self.width = ranges.target_lo, ranges.target_width
        self.sse = torch.zeros(len(bits), dtype=torch.float64)
        self.seen: set[int] = set()

    def add(self, batch_index: int, target: Tensor) -> None:
        if batch_index in self.seen:
            return
        self.seen.add(batch_index)
        top = max(self.bits)
        fine = bin_index(target, self.lo, self.width, top)
        for j, b in enumerate(self.bits):
            q = bin_centre(fine >> (top - b), self.lo, self.width, b)
            self.sse[j] += float((target - q).pow(2).sum())


# -- quantisation -----------------------------------------------------------------------------
def bin_index(values: Tensor, lo: Tensor, width: Tensor, bits: int) -> Tensor:
    """Index of each value among ``2**bits`` equal bins over ``[lo, lo + width]`` (int64).

    The top edge belongs to the last bin; a zero-width range puts everything in bin 0.
    """
    levels = 1 << bits
    safe = torch.where(width > 0, width, torch.ones_like(width))
    t = torch.where(width > 0, (values - lo) / safe, torch.zeros_like(values))
    return (t * levels).floor().clamp_(0, levels - 1).long()


def bin_centre(index: Tensor, lo: Tensor, width: Tensor, bits: int) -> Tensor:
    """The midpoint of bin ``index`` of ``2**bits`` over ``[lo, lo + width]`` (``lo`` if 0 wide)."""
    return lo + (index.double() + 0.5) * width / (1 << bits)


# -- entropies ----------------------------------------------------------------------------------
def binary_entropy(p: Tensor) -> Tensor:
    """``H_b(p)`` in bits, elementwise, with ``0 log 0 = 0``."""
    return _plogp(p) + _plogp(1 - p)


def _plogp(p: Tensor) -> Tensor:
    return torch.where(p > 0, -p * torch.log2(p.clamp_min(1e-300)), torch.zeros_like(p))


def value_entropies(hist: Tensor, bits: list[int]) -> list[Tensor]:
    """Per-latent entropy (bits) of the nonzero-value histogram at each precision in ``bits``.

    ``hist`` holds ``d_sae * 2**max(bits)`` counts, latent-major; bins of a coarser precision
    are unions of adjacent finer bins, so they are summed from it. Latents are processed in
    chunks so the float64 copy stays small.
    """
    top = max(bits)
    table = hist.view(-1, 1 << top)
    d_sae = table.shape[0]
    out = [torch.zeros(d_sae, dtype=torch.float64) for _ in bits]
    step = max(1, _ENTROPY_CHUNK >> top)
    for start in range(0, d_sae, step):
        chunk = table[start : start + step].double()
        totals = chunk.sum(1, keepdim=True)
        for j, b in enumerate(bits):
            counts = chunk.view(chunk.shape[0], 1 << b, -1).sum(-1)
            q = counts / totals.clamp_min(1)
            out[j][start : start + step] = _plogp(q).sum(1)
    return out


# -- decoding quantised codes ---------------------------------------------------------------------
def affine_decoder(sae) -> bool:
    """Whether ``sae`` decodes with the stock affine ``Sae.decode`` (fast sparse path allowed)."""
    from saebench.sae.base import Sae

    return (
        isinstance(sae, Sae)
        and type(sae).decode is Sae.decode
        and type(sae).denormalize is Sae.denormalize
    )


def sparse_decode_delta(sae, w_dec: Tensor, x: Tensor, rows, cols, delta) -> Tensor:
    """``decode(codes + delta) - decode(codes)`` for a stock SAE, in float64.

    ``Sae.decode`` is affine in the codes for a given input ``x`` (the skip term and the
    normalisation shift cancel in the difference), so the change costs one sparse product of
    ``nnz * d_out`` instead of a dense decode of ``n * d_sae * d_out`` per precision.
    """
    n = x.shape[0]
    indices = torch.stack([rows, cols])
    sparse = torch.sparse_coo_tensor(
        indices, delta, (n, w_dec.shape[0]), check_invariants=False, is_coalesced=True
    )
    change = torch.sparse.mm(sparse, w_dec)
    meta = sae.meta
    if meta.normalize_activations == "none" and meta.input_scale is None:
        return change
    return (
        sae.denormalize(change, x).double() - sae.denormalize(torch.zeros_like(change), x).double()
    )
