"""The work of ``retrieval``: gather the streamed rows, then score them once in ``finish``.

Rows are the embedding source's texts: the retrieval corpus (part 0) and the queries (part
1), each with its embedding ``x``, reconstruction ``x_hat`` and codes ``z``. Reconstruction
is scored on every row, retrieval per query (intervals: bootstrap over queries), and the
nulls (a random dictionary of the same width and L0; a random projection to L0 dimensions as
an index of the same size as the codes) on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from saebench.evaluators import EvalResult
from saebench.evaluators.retrieval import scores as S
from saebench.evaluators.retrieval.config import VARIANTS, RetrievalConfig, RetrievalMetrics
from saebench.toolkit.intervals import bootstrap

CORPUS, QUERY = 0, 1  # the part numbers the embedding source gives as each row's token


@dataclass
class Rows:
    """The streamed rows, gathered batch by batch (float32 on the CPU)."""

    x: list = field(default_factory=list)
    x_hat: list = field(default_factory=list)
    codes: list = field(default_factory=list)
    part: list = field(default_factory=list)

    def add(self, batch) -> None:
        self.x.append(batch.target.float().cpu())
        self.x_hat.append(batch.x_hat.float().cpu())
        self.codes.append(batch.codes.float().cpu())
        self.part.append(batch.tokens[batch.mask].cpu())

    def arrays(self) -> dict[str, np.ndarray]:
        import torch

        return {
            name: torch.cat(getattr(self, name)).numpy() for name in ("x", "x_hat", "codes", "part")
        }


def summarise(rows: Rows, config: RetrievalConfig, context) -> EvalResult:
    """Every metric of the gathered rows, with intervals over queries and the nulls."""
    data = rows.arrays()
    corpus, query = data["part"] == CORPUS, np.flatnonzero(data["part"] == QUERY)
    query = query[: config.max_queries]
    if corpus.sum() < config.k or len(query) < 2:
        return EvalResult.skipped(
            RetrievalMetrics, f"skipped: needs at least {config.k} corpus texts and 2 queries"
        )
    sides = {name: (data[name][query], data[name][corpus]) for name in ("x", "x_hat", "codes")}
    metrics, intervals = reconstruction_scores(data, corpus, config)
    per_query = retrieval_per_query(sides, config)
    for name, values in per_query.items():
        metrics[name] = float(values.mean())
        intervals[name] = bootstrap(values, unit="queries", seed=config.null_seed,
                                    n_resamples=config.n_resamples)  # fmt: skip
    details: dict[str, Any] = {"status": "complete", "k": config.k}
    if config.families:
        details["families"] = _families(data["codes"] != 0, config, metrics)
    nulls, details["nulls"] = _nulls(context, data, corpus, query, metrics, config)
    sizes = {"queries": len(query), "corpus": int(corpus.sum()), "texts": len(data["x"])}
    return EvalResult(metrics=RetrievalMetrics(**metrics), details=details,
                      intervals=intervals, nulls=nulls, sample_sizes=sizes)  # fmt: skip


def reconstruction_scores(data: dict, corpus: np.ndarray, config: RetrievalConfig):
    """nMSE (variance about the corpus mean), mean cosine, L0, dead fraction, density
    quantiles over every row; intervals over rows for the first three."""
    x, x_hat, codes = (data[k].astype(np.float64) for k in ("x", "x_hat", "codes"))
    err = ((x_hat - x) ** 2).sum(1)
    var = ((x - x[corpus].mean(0)) ** 2).sum(1)
    cos = (S.unit_rows(x) * S.unit_rows(x_hat)).sum(1)
    active = codes != 0
    density = active.mean(0)
    alive = np.log10(density[density > 0])
    q10, q50, q90 = np.percentile(alive, [10, 50, 90]) if alive.size else (None,) * 3
    metrics = {"nmse": err.sum() / var.sum(), "cosine": cos.mean(), "l0": active.sum(1).mean(),
               "dead_fraction": float((density == 0).mean()),
               "density_q10": q10, "density_q50": q50, "density_q90": q90}  # fmt: skip
    metrics = {k: None if v is None else float(v) for k, v in metrics.items()}
    per_row = np.stack([err, var, cos, active.sum(1)], axis=1)
    n = config.n_resamples
    intervals = {
        "nmse": bootstrap(
            per_row, lambda r: r[:, 0].sum() / r[:, 1].sum(), unit="texts", n_resamples=n
        ),
        "cosine": bootstrap(cos, unit="texts", n_resamples=n),
        "l0": bootstrap(per_row[:, 3], unit="texts", n_resamples=n),
    }
    return metrics, intervals


def retrieval_per_query(sides: dict, config: RetrievalConfig) -> dict[str, np.ndarray]:
    """Per-query scores of every variant (``both_overlap`` ...) and of the codes (when
    ``sides`` has them)."""
    (q, c), (q_hat, c_hat) = sides["x"], sides["x_hat"]
    truth = S.original_ranking(q, c, config.k)
    pairs = {"query": (q_hat, c), "both": (q_hat, c_hat), "corpus": (q, c_hat)}
    out = {}
    for variant in VARIANTS:
        found = S.retrieval_scores(q, c, *pairs[variant], k=config.k, top=config.spearman_top,
                                   truth=truth)  # fmt: skip
        out.update({f"{variant}_{m}": v for m, v in found.items()})
    if "codes" not in sides:
        return out
    z_q, z_c = sides["codes"]
    codes = S.retrieval_scores(q, c, z_q, z_c, k=config.k, top=config.spearman_top, truth=truth)
    out["codes_overlap"], out["codes_recall_top1"] = codes["overlap"], codes["recall_top1"]
    return out


def _families(active: np.ndarray, config: RetrievalConfig, metrics: dict) -> dict:
    from saebench.evaluators.retrieval.families import feature_families

    found = feature_families(active, threshold=config.family_threshold,
                             min_children=config.family_min_children)  # fmt: skip
    metrics.update(families=float(found["n_families"]), family_mean_size=found["mean_size"],
                   family_max_size=float(found["max_size"]),
                   family_alive_fraction=found["alive_fraction_in_family"])  # fmt: skip
    return found


def _nulls(context, data, corpus, query, metrics: dict, config: RetrievalConfig):
    """(nulls by metric name, their details): a random dictionary of the SAE's width coding
    ``round(L0)`` latents per text, and a Gaussian random projection to ``round(L0)``
    dimensions (an index as small as the codes)."""
    d_sae = data["codes"].shape[1]
    k = max(1, round(metrics["l0"] or 1))

    def compute() -> dict[str, float]:
        return null_scores(data["x"], corpus, query, d_sae, k, config)

    found = (
        context.once("retrieval_nulls", compute, depends_on=[d_sae, k]) if context else compute()
    )
    nulls = {name: found[f"random_dictionary_{name}"] for name in
             ("nmse", "cosine", *(f"{v}_overlap" for v in VARIANTS),
              *(f"{v}_recall_top1" for v in VARIANTS))}  # fmt: skip
    nulls["codes_overlap"] = found["random_projection_overlap"]
    nulls["codes_recall_top1"] = found["random_projection_recall_top1"]
    return nulls, {"l0": k, "d_sae": d_sae, **found}


def null_scores(x: np.ndarray, corpus, query, d_sae: int, k: int, config) -> dict[str, float]:
    """The scores of the two nulls on the same rows."""
    import torch

    from saebench.toolkit.references import random_dictionary

    acts = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    sae = random_dictionary(acts[torch.from_numpy(corpus)], d_sae=d_sae, k=k, seed=config.null_seed)
    with torch.inference_mode():
        x_hat = sae.decode(sae.encode(acts)).numpy()
    rows = {"x": x, "x_hat": x_hat, "codes": np.zeros((len(x), 1)), "part": corpus}
    metrics, _ = reconstruction_scores(rows, corpus, config)
    sides = {"x": (x[query], x[corpus]), "x_hat": (x_hat[query], x_hat[corpus])}
    per_query = retrieval_per_query(sides, config)
    out = {f"random_dictionary_{m}": metrics[m] for m in ("nmse", "cosine")}
    out.update({f"random_dictionary_{n}": float(v.mean()) for n, v in per_query.items()})
    projection = _projection(x.shape[1], k, config.null_seed)
    found = S.retrieval_scores(x[query], x[corpus], x[query] @ projection, x[corpus] @ projection,
                               k=config.k, top=config.spearman_top)  # fmt: skip
    out["random_projection_overlap"] = float(found["overlap"].mean())
    out["random_projection_recall_top1"] = float(found["recall_top1"].mean())
    return out


def _projection(d: int, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((d, k)) / np.sqrt(k)
