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

This module holds what is measured and how the precision is chosen, and loads no torch; the
tensor work of the two passes is in :mod:`saebench.evaluators.mdl_stats`, imported at the
first batch.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Literal

from pydantic import field_validator

from saebench.errors import SaebenchError
from saebench.evaluators import (
    EvalConfig,
    EvalContext,
    EvalMetrics,
    EvalResult,
    Evaluator,
    Needs,
    SaeBatch,
    metric,
)

if TYPE_CHECKING:
    from saebench.evaluators.mdl_stats import MdlStatistics, MdlSummary

_MAX_CODE_BITS = 16
_MAX_DENSE_BITS = 24


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


class MdlEvaluator(Evaluator):
    """Description length (bits per token) at the coarsest precision within a tolerance.

    Example:
        >>> records = saebench.evaluate(sae, model="zoo", dataset="zoo", evaluators=["mdl"],
        ...                             configs={"mdl": {"fvu_tolerance": 0.005}})
        >>> records[0].metrics["description_length_bits_per_token"]
    """

    version = "2"
    description = "description length of the codes (bits/token) at a reconstruction tolerance"
    Config = MdlConfig
    Metrics = MdlMetrics
    main_metric = "description_length_bits_per_token"
    needs = Needs(passes=2)

    def __init__(self, config: MdlConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        if context.sae is not None:
            _check_histogram_size(context.sae.d_sae, max(config.bits), config.max_histogram_mib)
        self.stats: MdlStatistics | None = None  # made at the first batch: it needs torch

    def update(self, batch: SaeBatch) -> None:
        if self.stats is None:
            from saebench.evaluators.mdl_stats import MdlStatistics

            self.stats = MdlStatistics(self.config, self.context.once)
        self.stats.add(batch)

    def finish(self) -> EvalResult:
        if self.stats is None:
            raise SaebenchError("mdl: no tokens were evaluated")
        summary = self.stats.summary()
        curve, limit = self._curve(summary)
        within = [point["within_tolerance"] for point in curve]
        chosen = within.index(True) if any(within) else len(curve) - 1
        if not any(within):
            bits = self.config.bits
            warnings.warn(
                f"mdl: no precision in bits={bits} reaches FVU <= {limit:.4g}; reporting "
                f"the finest ({bits[-1]} bits). Add finer bits or loosen the tolerance.",
                stacklevel=2,
            )
        details = {
            "n_tokens": summary.n_tokens,
            "quantizer": self.config.quantizer,
            "fvu_limit": limit,
            "tolerance_met": within[chosen],
            "alive_latents": summary.alive_latents,
            "curve": curve,
            "dense_curve": [
                {"bits": b, "fvu": f}
                for b, f in zip(self.config.dense_bits, summary.dense_fvus, strict=True)
            ],
        }
        metrics = self._metrics(summary, curve[chosen])
        blocks = int((summary.block_tokens > 0).sum())
        return EvalResult(
            metrics=metrics,
            details=details,
            intervals={self.main_metric: description_length_interval(summary, chosen)},
            sample_sizes={"context_blocks": blocks, "tokens": summary.n_tokens},
        )

    def _curve(self, summary: MdlSummary) -> tuple[list[dict], float]:
        """Every candidate precision marked within the FVU limit or not; the limit."""
        cfg = self.config
        limit = cfg.max_fvu if cfg.max_fvu is not None else summary.fvu + cfg.fvu_tolerance
        curve = [
            {**point, "within_tolerance": point["fvu"] <= limit + 1e-12} for point in summary.curve
        ]
        return curve, limit

    def _metrics(self, summary: MdlSummary, point: dict) -> MdlMetrics:
        """The metrics at the chosen precision ``point``, with the two baselines."""
        dense_bits = dense_precision(point["fvu"], self.config.dense_bits, summary.dense_fvus)
        dense = None if dense_bits is None else float(summary.d_out * dense_bits)
        dl = point["description_length_bits_per_token"]
        return self.Metrics(
            description_length_bits_per_token=dl,
            firing_bits_per_token=point["firing_bits_per_token"],
            value_bits_per_token=point["value_bits_per_token"],
            simple_bound_bits_per_token=summary.l0 * (math.log2(summary.d_sae) + point["bits"]),
            dense_baseline_bits_per_token=dense,
            compression_ratio=None if dense is None or dl <= 0 else dense / dl,
            precision_bits=point["bits"],
            dense_precision_bits=dense_bits,
            fvu=summary.fvu,
            fvu_quantized=point["fvu"],
            l0=summary.l0,
        )


def description_length_interval(summary: MdlSummary, chosen: int):
    """A bootstrap over blocks of contexts of the description length at the chosen
    precision: firing frequencies are resampled, each latent's value entropy is held at its
    full-sample value (docs/evaluators/mdl.md: the interval covers which latents fire how
    often, the dominant part of the sampling noise; not the value histograms)."""
    import numpy as np

    from saebench.toolkit.intervals import bootstrap

    fires, tokens = summary.block_fires, summary.block_tokens
    present = np.flatnonzero(tokens > 0)
    fires, tokens = fires[present], tokens[present]
    entropy = summary.value_entropies[chosen]

    def statistic(picks: np.ndarray) -> float:
        p = fires[picks.astype(int)].sum(0) / tokens[picks.astype(int)].sum()
        inner = p[(p > 0) & (p < 1)]
        firing = float(-(inner * np.log2(inner) + (1 - inner) * np.log2(1 - inner)).sum())
        return firing + float((p * entropy).sum())

    return bootstrap(np.arange(len(present)), statistic, unit="context_blocks")


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
