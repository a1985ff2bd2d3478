"""Description length of an SAE's codes, after Ayonrinde et al. 2024 ("Interpretability as
Compression", arXiv 2410.11179).

Each latent ``i`` sends, per token, one Boolean "active?" symbol (entropy ``H_b(p_i)``) and,
when active, its value quantised to ``B`` bits (entropy ``H(q_i)`` of the histogram of its
*nonzero* values). The description length in bits per token is

    DL = sum_i [ H_b(p_i) + p_i * H(q_i) ]

at the coarsest precision ``B`` whose quantised reconstruction keeps the fraction of
variance unexplained within a tolerance of the unquantised one. Two baselines come with it:
the fixed-length bound ``L0 * (log2 d_sae + B)`` and the dense code ``d_out * B_dense``, the
bits of the activations themselves quantised per dimension to the same FVU.

Pass 1 learns the ranges (each latent's nonzero min and max, each target dimension's min and
max and mean, firing counts); pass 2 quantises at every candidate precision at once and
accumulates value histograms and squared errors. Memory: one int32 histogram of
``d_sae * 2**max(bits)`` counts (the bins of coarser precisions are unions of finer ones,
so they are summed from it at the end) plus a few vectors; nothing grows with tokens.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import field_validator
from torch import Tensor

from saebench.errors import SaebenchError
from saebench.evaluators.base import (
    EvalConfig,
    EvalContext,
    EvalMetrics,
    EvalResult,
    Evaluator,
    Needs,
    SaeBatch,
    metric,
    register_evaluator,
)

_MAX_CODE_BITS = 16
_MAX_DENSE_BITS = 24
_ENTROPY_CHUNK = 2**22  # histogram cells turned into float64 at once in finish()


class MdlConfig(EvalConfig):
    """How precisions are tried and chosen.

    Example:
        >>> MdlConfig(bits=[2, 4, 8], fvu_tolerance=0.005, quantizer="log")
    """

    # Candidate precisions of one nonzero code value, in bits (2**bits value bins per latent).
    bits: list[int] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    # Allowed absolute increase of the FVU caused by quantising the codes.
    fvu_tolerance: float = 0.01
    # If set, replaces the relative tolerance: the coarsest precision whose quantised FVU is at
    # most this value (the paper's fixed error bound epsilon, to compare SAEs at one accuracy).
    max_fvu: float | None = None
    # "uniform": bins of equal width over [min nonzero, max] of each latent; "log": equal width
    # in log(value) over the same range (positive codes only).
    quantizer: Literal["uniform", "log"] = "uniform"
    # Candidate precisions of the dense baseline (uniform per dimension over its range).
    dense_bits: list[int] = list(range(1, 17))
    # Refuse to allocate a value histogram (d_sae * 2**max(bits) int32 counts) larger than this.
    max_histogram_mib: int = 1024

    @field_validator("bits")
    @classmethod
    def _check_bits(cls, value: list[int]) -> list[int]:
        return _check_precisions("bits", value, _MAX_CODE_BITS)

    @field_validator("dense_bits")
    @classmethod
    def _check_dense_bits(cls, value: list[int]) -> list[int]:
        return _check_precisions("dense_bits", value, _MAX_DENSE_BITS)

    @field_validator("fvu_tolerance")
    @classmethod
    def _check_tolerance(cls, value: float) -> float:
        if not value >= 0:
            raise ValueError(f"must be >= 0, got {value}")
        return value


def _check_precisions(name: str, value: list[int], top: int) -> list[int]:
    if not value:
        raise ValueError(f"{name} needs at least one precision")
    bad = [b for b in value if not 1 <= b <= top]
    if bad:
        raise ValueError(f"{name} must lie in 1..{top}, got {bad}")
    return sorted(set(value))


class MdlMetrics(EvalMetrics):
    description_length_bits_per_token: float = metric(
        "sum_i H_b(p_i) + p_i H(q_i) at the chosen precision, bits per token", False
    )
    firing_bits_per_token: float = metric(
        "sum_i H_b(p_i): the part that says which latents are active", False
    )
    value_bits_per_token: float = metric(
        "sum_i p_i H(q_i): the part that says the quantised values of active latents", False
    )
    simple_bound_bits_per_token: float = metric(
        "L0 * (log2 d_sae + B): fixed-length code of indices and values", False
    )
    dense_baseline_bits_per_token: float | None = metric(
        "d_out * B_dense: the activations quantised per dimension to the SAE's FVU", None
    )
    compression_ratio: float | None = metric(
        "dense_baseline_bits_per_token / description_length_bits_per_token", True
    )
    precision_bits: float = metric("B: bits per nonzero value at the chosen precision", None)
    dense_precision_bits: float | None = metric(
        "B_dense: coarsest dense precision reaching the SAE's quantised FVU", None
    )
    fvu: float = metric("fraction of variance unexplained, unquantised codes", False)
    fvu_quantized: float = metric("fraction of variance unexplained at the chosen precision", False)
    l0: float = metric("mean number of nonzero codes per token", None)


@dataclass
class _Ranges:
    """Pass-1 statistics (float64 except the counts)."""

    n_tokens: int
    fires: Tensor  # [d_sae] int64
    code_lo: Tensor  # [d_sae] min nonzero value (log of it for the log quantiser)
    code_width: Tensor  # [d_sae] max - min (in log space for the log quantiser)
    target_lo: Tensor  # [d_out]
    target_width: Tensor  # [d_out]
    target_mean: Tensor  # [d_out]


@register_evaluator("mdl")
class MdlEvaluator(Evaluator):
    """Description length (bits per token) at the coarsest precision within a tolerance.

    Example:
        >>> records = saebench.evaluate(sae, model="zoo", dataset="zoo", evaluators=["mdl"],
        ...                             configs={"mdl": {"fvu_tolerance": 0.005}})
        >>> records[0].metrics["description_length_bits_per_token"]
    """

    version = "1"
    description = "description length of the codes (bits/token) at a reconstruction tolerance"
    Config = MdlConfig
    Metrics = MdlMetrics
    main_metric = "description_length_bits_per_token"
    needs = Needs(passes=2)

    def __init__(self, config: MdlConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.fine_bits = max(config.bits)
        self.dense_fine_bits = max(config.dense_bits)
        if context.sae is not None:
            _check_histogram_size(context.sae.d_sae, self.fine_bits, config.max_histogram_mib)
        # pass 1
        self.n_tokens = 0
        self.fires: Tensor | None = None
        self.code_min: Tensor | None = None
        self.code_max: Tensor | None = None
        self.target_min: Tensor | None = None
        self.target_max: Tensor | None = None
        self.target_sum: Tensor | None = None
        # pass 2
        self.ranges: _Ranges | None = None
        self.n_tokens_2 = 0
        self.hist: Tensor | None = None
        self.sse_exact = 0.0
        self.variance = 0.0
        self.sse_codes = torch.zeros(len(config.bits), dtype=torch.float64)
        self.dense: DenseCurve | None = None
        self._w_dec: Tensor | None = None

    # -- pass 1: ranges ---------------------------------------------------------------------
    @torch.no_grad()
    def update(self, batch: SaeBatch) -> None:
        if batch.codes.shape[0] == 0:
            return
        if batch.pass_index == 0:
            self._gather_ranges(batch)
        elif batch.pass_index == 1:
            self._accumulate(batch)

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

    def _freeze_ranges(self) -> _Ranges:
        if self.fires is None:
            raise SaebenchError("mdl: the second pass started before any token was seen")
        alive = self.fires > 0
        lo = torch.where(alive, self.code_min, 0.0)
        hi = torch.where(alive, self.code_max, 0.0)
        if self.config.quantizer == "log":
            lo, hi = torch.where(alive, lo.log(), 0.0), torch.where(alive, hi.log(), 0.0)
        return _Ranges(
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
        share one curve (through the run's shared dict) instead of each computing it."""
        if self.dense is None:
            meta = batch.sae.meta
            key = (
                "mdl.dense",
                meta.output_hook,
                meta.reshape_activations,
                meta.hook_head_index,
                tuple(self.config.dense_bits),
                self.ranges.n_tokens,
            )
            self.dense = self.context.shared.get(key)
            if self.dense is None:
                self.dense = DenseCurve(self.config.dense_bits, self.ranges)
                self.context.shared[key] = self.dense
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
    def finish(self) -> EvalResult:
        self._check_complete()
        cfg, ranges = self.config, self.ranges
        curve, limit, fvu = self._curve()
        within = [point["within_tolerance"] for point in curve]
        chosen = within.index(True) if any(within) else len(curve) - 1
        if not any(within):
            warnings.warn(
                f"mdl: no precision in bits={cfg.bits} reaches FVU <= {limit:.4g}; reporting "
                f"the finest ({cfg.bits[-1]} bits). Add finer bits or loosen the tolerance.",
                stacklevel=2,
            )
        point = curve[chosen]
        dense_fvus = (self.dense.sse / self.variance).tolist()
        dense_bits = dense_precision(point["fvu"], cfg.dense_bits, dense_fvus)
        dense = None if dense_bits is None else float(ranges.target_lo.numel() * dense_bits)
        dl = point["description_length_bits_per_token"]
        l0 = float(ranges.fires.sum()) / ranges.n_tokens
        metrics = self.Metrics(
            description_length_bits_per_token=dl,
            firing_bits_per_token=point["firing_bits_per_token"],
            value_bits_per_token=point["value_bits_per_token"],
            simple_bound_bits_per_token=l0 * (math.log2(ranges.fires.numel()) + point["bits"]),
            dense_baseline_bits_per_token=dense,
            compression_ratio=None if dense is None or dl <= 0 else dense / dl,
            precision_bits=point["bits"],
            dense_precision_bits=dense_bits,
            fvu=fvu,
            fvu_quantized=point["fvu"],
            l0=l0,
        )
        details = {
            "n_tokens": ranges.n_tokens,
            "quantizer": cfg.quantizer,
            "fvu_limit": limit,
            "tolerance_met": within[chosen],
            "alive_latents": int((ranges.fires > 0).sum()),
            "curve": curve,
            "dense_curve": [
                {"bits": b, "fvu": f} for b, f in zip(cfg.dense_bits, dense_fvus, strict=True)
            ],
        }
        return EvalResult(metrics=metrics, details=details)

    def _curve(self) -> tuple[list[dict], float, float]:
        """Description length and FVU at every candidate precision; the FVU limit; the FVU."""
        cfg, ranges = self.config, self.ranges
        p = ranges.fires.cpu().double() / ranges.n_tokens
        firing_bits = float(binary_entropy(p).sum())
        entropies = value_entropies(self.hist.cpu(), cfg.bits)
        fvu = self.sse_exact / self.variance
        limit = cfg.max_fvu if cfg.max_fvu is not None else fvu + cfg.fvu_tolerance
        curve = []
        for j, b in enumerate(cfg.bits):
            value_bits = float((p * entropies[j]).sum())
            fvu_b = float(self.sse_codes[j]) / self.variance
            curve.append(
                {
                    "bits": b,
                    "description_length_bits_per_token": firing_bits + value_bits,
                    "firing_bits_per_token": firing_bits,
                    "value_bits_per_token": value_bits,
                    "fvu": fvu_b,
                    "within_tolerance": fvu_b <= limit + 1e-12,
                }
            )
        return curve, limit, fvu

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

    def __init__(self, bits: list[int], ranges: _Ranges) -> None:
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


def dense_precision(target_fvu: float, bits: list[int], fvus: list[float]) -> int | None:
    """Coarsest dense precision whose FVU is no worse than ``target_fvu``.

    Sending nothing and decoding the mean has FVU 1 at 0 bits, so an SAE that does no better
    than that is matched by a 0-bit dense code. ``None`` if even the finest is not enough.
    """
    if target_fvu >= 1.0:
        return 0
    for b, f in zip(bits, fvus, strict=True):
        if f <= target_fvu:
            return b
    return None


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


def _check_histogram_size(d_sae: int, bits: int, limit_mib: int) -> None:
    need = d_sae * (1 << bits) * 4 / 2**20
    if need <= limit_mib:
        return
    fit = max((b for b in range(1, bits) if d_sae * (1 << b) * 4 / 2**20 <= limit_mib), default=0)
    raise SaebenchError(
        f"mdl: value histograms for d_sae={d_sae} at {bits} bits need {need:.0f} MiB, over "
        f"max_histogram_mib={limit_mib}; drop bits above {fit} from `bits`"
        f" or raise max_histogram_mib"
    )
