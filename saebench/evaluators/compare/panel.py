"""A panel of SAEs at one site: every pair compared, the random baseline beside them.

The random baseline pairs two untrained SAEs (:func:`saebench.sae.controls.random_init`,
seeded) of the shapes of each compared pair; pairs of the same shapes share one baseline.
"""

from __future__ import annotations

import itertools
import math
import statistics

import torch

from saebench.evaluators import EvalResult
from saebench.evaluators.compare.config import PAIR_METRICS, CompareConfig, CompareMetrics
from saebench.evaluators.compare.pairs import (
    CodeStats,
    activation_metrics,
    code_block,
    stack_codes,
    weight_metrics,
)

# metrics shown as member x member matrices (seed consistency on a leaderboard)
MATRIX_METRICS = (
    "hungarian_dec_mean_cos",
    "mmcs_dec_a_to_b",
    "frac_shared_pb_0_7",
    "act_hungarian_mean_corr",
)


class Panel:
    """The members, their random twins, and the codes collected on the shared rows."""

    def __init__(self, saes: list, config: CompareConfig) -> None:
        self.saes, self.labels = _ordered(saes)
        self.config = config
        self.signatures = [_signature(sae) for sae in self.saes]
        self.randoms = _random_twins(self.saes, self.signatures, config.seed)
        self.codes: dict = {}  # id(sae) -> its code blocks (sparse or dense, see code_block)
        self.rows = 0

    def collect(self, x) -> None:
        """Keep every member's (and random twin's) codes on the first rows of the pass."""
        take = min(x.shape[0], self.config.n_activation_samples - self.rows)
        if take <= 0:
            return
        x = x[:take]
        for sae in {id(s): s for s in [*self.saes, *self.randoms.values()]}.values():
            codes = sae.encode(x).detach().float().cpu().numpy()
            self.codes.setdefault(id(sae), []).append(code_block(codes))
        self.rows += take

    def evaluate(self) -> EvalResult:
        stats = self._stats()
        pairs = list(itertools.combinations(range(len(self.saes)), 2))
        values = [self._pair(self.saes[i], self.saes[j], stats) for i, j in pairs]
        baselines = self._baselines(pairs, stats)
        return _result(self, pairs, values, baselines)

    def _stats(self) -> dict | None:
        if self.rows < 2:
            return None
        return {key: CodeStats(stack_codes(blocks)) for key, blocks in self.codes.items()}

    def _pair(self, a, b, stats: dict | None) -> dict[str, float]:
        out = weight_metrics(a, b, self.config)
        if stats is not None:
            out.update(activation_metrics(stats[id(a)], stats[id(b)], self.config))
        return out

    def _baselines(self, pairs, stats) -> list[dict[str, float]]:
        """The random pair of each compared pair's shapes (computed once per shapes)."""
        done: dict[tuple, dict] = {}
        out = []
        for i, j in pairs:
            key = (self.signatures[i], self.signatures[j])
            if key not in done:
                a, b = self.randoms[(key[0], 0)], self.randoms[(key[1], 1)]
                done[key] = self._pair(a, b, stats)
            out.append(done[key])
        return out


def _ordered(saes: list) -> tuple[list, list[str]]:
    """The members in a canonical order (by name, then weights), so that the record's
    numbers do not depend on the order they were given in (its key does not), and their
    labels (with a weights prefix where two share a name)."""
    from saebench.identity import sae_weights_hash

    hashes = {id(sae): sae_weights_hash(sae) for sae in saes}
    ordered = sorted(saes, key=lambda sae: (member_label(sae), hashes[id(sae)]))
    labels = [member_label(sae) for sae in ordered]
    if len(set(labels)) < len(labels):
        labels = [
            f"{name}#{hashes[id(sae)][:8]}" for name, sae in zip(labels, ordered, strict=True)
        ]
    return ordered, labels


def _random_twins(saes: list, signatures: list, seed: int) -> dict:
    """Two untrained SAEs (seeds ``seed`` and ``seed + 1``) of each distinct signature."""
    from saebench.sae.controls import random_init

    twins: dict[tuple, object] = {}
    for signature, sae in zip(signatures, saes, strict=True):
        for which in (0, 1):
            if (signature, which) not in twins:
                generator = torch.Generator().manual_seed(seed + which)
                twins[(signature, which)] = random_init(sae, generator).eval().requires_grad_(False)
    return twins


def _signature(sae) -> tuple:
    """What an untrained SAE's baseline depends on: its class, widths and settings."""
    meta = sae.meta
    return (type(sae).__name__, sae.d_sae, sae.d_in, sae.d_out, meta.architecture, meta.k)


def member_label(sae) -> str:
    return sae.meta.source or f"{sae.meta.architecture}-{sae.d_sae}"


def _mean_sd(values: list[float | None]) -> tuple[float | None, float | None]:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    if not kept:
        return None, None
    return statistics.fmean(kept), statistics.stdev(kept) if len(kept) > 1 else 0.0


def _result(panel: Panel, pairs, values, baselines) -> EvalResult:
    labels = panel.labels
    mean, sd, null = {}, {}, {}
    for name in PAIR_METRICS:
        mean[name], sd[name] = _mean_sd([v.get(name) for v in values])
        null[name] = _mean_sd([b.get(name) for b in baselines])[0]
    metrics = CompareMetrics(
        **mean,
        hungarian_dec_mean_cos_sd=sd["hungarian_dec_mean_cos"],
        random_baseline_mmcs=null["mmcs_dec_sym"],
        random_baseline_hungarian=null["hungarian_dec_mean_cos"],
        random_baseline_act_hungarian=null["act_hungarian_mean_corr"],
        n_pairs=len(pairs),
    )
    details = {
        "members": labels,
        "pairs": [
            {"a": labels[i], "b": labels[j], **v, "random_baseline": b}
            for (i, j), v, b in zip(pairs, values, baselines, strict=True)
        ],
        "sd": sd,
        "matrices": {m: _matrix(len(labels), pairs, values, m) for m in MATRIX_METRICS},
        "matching": "exact" if all(v["exact"] for v in values) else "approximate",
        "activation_rows": panel.rows,
    }
    sizes = {"pairs": len(pairs), "activation_rows": panel.rows}
    return EvalResult(metrics=metrics, details=details, nulls=null, sample_sizes=sizes)


def _matrix(n: int, pairs, values, name: str) -> list[list[float | None]]:
    """``[i][j]``: the metric of member i against member j (A = i); the diagonal is None.
    Directional metrics (A to B) take their reverse from the pair's B-to-A value."""
    reverse = name.replace("a_to_b", "b_to_a")
    out: list[list[float | None]] = [[None] * n for _ in range(n)]
    for (i, j), v in zip(pairs, values, strict=True):
        out[i][j] = v.get(name)
        out[j][i] = v.get(reverse)
    return out
