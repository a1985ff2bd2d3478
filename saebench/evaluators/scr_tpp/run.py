"""Per SAE: latents ranked by SAEBench's probe attribution, top-N zero-ablated with the SAE's
error kept, the probes re-scored, the SCR or TPP formulas, intervals and nulls.

SAEBench ablates per token, ``decode(f with S zeroed) + (x - decode(f))``, then mean-pools.
The decoder is affine in the codes, so the pooled ablated activation is exactly
``x_pooled - sum_{i in S} c_i W_dec[i]`` with ``c_i`` the token mean of latent ``i``'s code
times the decoder's per-token output scale (1 without input normalisation). A probe's
ablated logit is then its clean logit minus ``sum_{i in S} c_i (W_dec[i] . w)``: every N
of the grid is one cumulative sum over the ranked latents.

Attribution (SAEBench ``get_effects_per_class_precomputed_acts``), on the probe's train
rows: ``effect_i = (mean_pos f_i - mean_neg f_i) * (w . W_dec[i])`` with ``f_i`` the
token-mean code; SCR takes ``|effect|``, TPP clamps the mean difference at 0 first. The
top N latents of nonzero effect are ablated (all of them when fewer than N are nonzero).
"""

from __future__ import annotations

import numpy as np

from saebench.evaluators.scr_tpp.prepare import Prepared
from saebench.evaluators.scr_tpp.scores import scr_metrics, tpp_metrics

_TOKENS = 8192  # tokens per SAE call (memory only)


def pooled_codes(sae, captured, scaled: bool) -> np.ndarray:
    """``[n, d_sae]`` float64: each prompt's token-mean code, times the decoder's per-token
    output scale when ``scaled`` (what an ablation removes along ``W_dec[i]``)."""
    import torch

    n = len(captured.x)
    sums = torch.zeros(n, sae.d_sae, dtype=torch.float64)
    owner = torch.from_numpy(captured.owner)
    with torch.no_grad():
        for start in range(0, len(captured.tokens), _TOKENS):
            x = torch.from_numpy(captured.tokens[start : start + _TOKENS]).to(sae.device)
            codes = sae.encode(x).double()
            if scaled:
                codes = codes * _output_scale(sae, x)[:, None]
            sums.index_add_(0, owner[start : start + _TOKENS], codes.cpu())
    counts = torch.bincount(owner, minlength=n).clamp(min=1).double()
    return (sums / counts[:, None]).numpy()


def _output_scale(sae, x):
    """Per token, the factor ``decode`` multiplies ``codes @ W_dec`` by (1 unless the SAE
    normalises its input, or scales it)."""
    import torch

    meta = sae.meta
    if meta.normalize_activations == "none" and meta.input_scale is None:
        return torch.ones(len(x), dtype=torch.float64, device=x.device)
    ones = torch.ones(len(x), sae.d_out, dtype=sae.dtype, device=x.device)
    gap = sae.denormalize(ones, x) - sae.denormalize(torch.zeros_like(ones), x)
    return gap[:, 0].double()


def ranked_latents(codes, rows, y, direction, scr: bool, limit: int) -> np.ndarray:
    """The latents of largest attribution, largest first, nonzero effects only (at most
    ``limit``). ``direction[i] = w . W_dec[i]``."""
    diff = codes[rows[y == 1]].mean(0) - codes[rows[y == 0]].mean(0)
    effect = np.abs(diff * direction) if scr else np.clip(diff, 0, None) * direction
    order = np.argsort(-effect, kind="stable")
    return order[effect[order] != 0][:limit]


def ablated_correct(logits, y, contributions, n_values) -> dict[int, np.ndarray]:
    """Per N, whether each row is classified right after removing the first N latents'
    contributions ``[rows, ranked]`` from the clean ``logits``."""
    cumulative = np.cumsum(contributions, axis=1)
    out = {}
    for n in n_values:
        removed = cumulative[:, min(n, cumulative.shape[1]) - 1] if cumulative.shape[1] else 0.0
        out[n] = ((logits - removed) > 0).astype(np.int64) == y
    return out


def correctness(p: Prepared, codes_train, codes_test, sae, n_values, nulls, seed):
    """``{test set: {column: correct [rows]}}``: every probe's clean column, and per ablated
    set ``ablate:K:N:probe:P`` (top-N of K's ranking) and ``nullR:K:N:probe:P`` (N random
    latents, draw R), for the (set, probe, ablation) triples the metrics read."""
    w_dec = sae.W_dec.detach().double().cpu().numpy()
    direction = {name: w_dec @ probe.w for name, probe in p.probes.items()}
    limit = max(n_values)
    ranked = {}
    for name in _ablated(p):
        r = p.sets[name]
        ranked[name] = ranked_latents(
            codes_train, r.train, r.train_y, direction[name], p.kind == "scr", limit
        )
    rng = np.random.default_rng(seed)
    draws = [rng.permutation(sae.d_sae)[:limit] for _ in range(nulls)]
    columns: dict[str, dict[str, np.ndarray]] = {}
    for name, r in p.sets.items():  # each probe, clean, on its own test set
        logits = p.test.x[r.test].astype(np.float64) @ p.probes[name].w + p.probes[name].b
        columns[name] = {f"probe:{name}": (logits > 0).astype(np.int64) == r.test_y}
    for test_set, probe, ablated in _triples(p):
        r, pr = p.sets[test_set], p.probes[probe]
        logits = p.test.x[r.test].astype(np.float64) @ pr.w + pr.b
        mine = columns.setdefault(test_set, {})
        mine[f"probe:{probe}"] = (logits > 0).astype(np.int64) == r.test_y
        for tag, order in [("ablate", ranked[ablated])] + [
            (f"null{i}", d) for i, d in enumerate(draws)
        ]:
            contributions = codes_test[r.test][:, order] * direction[probe][order]
            for n, ok in ablated_correct(logits, r.test_y, contributions, n_values).items():
                mine[f"{tag}:{ablated}:{n}:probe:{probe}"] = ok
    return columns, ranked


def _ablated(p: Prepared) -> list[str]:
    if p.kind == "scr":
        return [name for g in p.groups for name in (g["spurious"], g["target"])]
    return [name for classes in p.groups for name in classes]


def _triples(p: Prepared) -> list[tuple[str, str, str]]:
    """(test set, probe, ablated set) triples the metrics need."""
    if p.kind == "scr":
        return [
            triple
            for g in p.groups
            for triple in (
                (g["target"], g["biased"], g["spurious"]),
                (g["spurious"], g["biased"], g["target"]),
            )
        ]
    return [(j, j, i) for classes in p.groups for i in classes for j in classes]


def metrics_from(p: Prepared, acc, n_values) -> dict[str, np.ndarray]:
    if p.kind == "scr":
        return scr_metrics(acc, p.groups, n_values)
    return tpp_metrics(acc, p.groups, n_values)
