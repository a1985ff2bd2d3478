"""The ``retrieval`` evaluator's config and metrics: a torch-free leaf.

Example:
    >>> RetrievalConfig(**QUICKSTART_CONFIG).n_resamples
    200
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, create_model

from saebench.evaluators import EvalConfig, EvalMetrics, metric

VARIANTS = ("query", "both", "corpus")  # which side is reconstructed: q̂ vs C, q̂ vs Ĉ, q vs Ĉ

# `saebench quickstart` and the minilm suite's quick preset: fewer bootstrap resamples.
QUICKSTART_CONFIG: dict[str, Any] = {"n_resamples": 200}


class RetrievalConfig(EvalConfig):
    k: int = Field(10, ge=1, le=100)  # the top-k of overlap, recall and nDCG
    spearman_top: int = Field(100, ge=2)  # Spearman's rho over the original top this many
    max_queries: int | None = Field(None, ge=2)  # the first this many queries (None: all)
    families: bool = True  # build the feature families (co-occurrence tree)
    family_threshold: float = Field(0.1, gt=0, lt=1)  # saerch's Family default
    family_min_children: int = Field(2, ge=1)  # a family's parent has more children than this
    null_seed: int = 0  # of the random dictionary and the random projection (the nulls)
    n_resamples: int = Field(1000, ge=10)  # bootstrap resamples of queries (intervals)


def _retrieval_fields() -> dict[str, Any]:
    words = {"query": "reconstructed queries against the original corpus",
             "both": "reconstructed queries against the reconstructed corpus",
             "corpus": "original queries against the reconstructed corpus"}  # fmt: skip
    fields = {}
    for variant, said in words.items():
        described = {
            "overlap": f"overlap@k of the top-k, {said}",
            "recall_top1": f"share of queries whose true nearest text is in the top-k, {said}",
            "ndcg": f"nDCG@k (gains: original cosine), {said}",
            "spearman": f"Spearman's rho over the original top documents, {said}",
        }
        for measure, text in described.items():
            fields[f"{variant}_{measure}"] = (float | None, metric(text, True))
    return fields


class _Metrics(EvalMetrics):
    nmse: float | None = metric("mean squared error / variance about the mean (= FVU)", False)
    cosine: float | None = metric("mean cosine of each embedding and its reconstruction", True)
    l0: float | None = metric("mean number of latents firing per text", None)
    dead_fraction: float | None = metric("fraction of latents firing on no text", False)
    density_q10: float | None = metric("10th percentile of log10 firing rate (alive)", None)
    density_q50: float | None = metric("median log10 firing rate of alive latents", None)
    density_q90: float | None = metric("90th percentile of log10 firing rate (alive)", None)
    codes_overlap: float | None = metric("overlap@k retrieving with the sparse codes", True)
    codes_recall_top1: float | None = metric(
        "share of queries whose true nearest text is in the codes' top-k", True
    )
    families: float | None = metric("number of feature families", None)
    family_mean_size: float | None = metric("mean size of a feature family", None)
    family_max_size: float | None = metric("size of the largest feature family", None)
    family_alive_fraction: float | None = metric("fraction of alive latents in a family", None)


# the retrieval fields of every variant (``both_overlap`` ...), declared from VARIANTS
RetrievalMetrics = create_model("RetrievalMetrics", __base__=_Metrics, **_retrieval_fields())
RetrievalMetrics.__doc__ = (
    "Reconstruction, sparsity, retrieval fidelity of reconstructed embeddings per variant "
    "(query, both, corpus) and of the codes, and the feature families' sizes."
)
