"""The ``head_attribution`` evaluator's config and metrics: a torch-free leaf.

Example:
    >>> from saebench.evaluators.head_attribution.config import HeadAttributionConfig
    >>> HeadAttributionConfig().top_k
    10
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from saebench.evaluators import EvalConfig, EvalMetrics, metric

# `saebench quickstart`: fewer resamples and DFA prompts (the zoo's 14 dictionaries are all
# skipped in microseconds; an attention-output one takes well under a second)
QUICKSTART_CONFIG: dict[str, Any] = {"n_resamples": 200, "dfa_prompts": 2, "null_seeds": 3}


class HeadAttributionConfig(EvalConfig):
    """How latents are attributed to heads, what makes a head polysemantic, and the DFA.

    Example:
        >>> HeadAttributionConfig(attribution_threshold=0.7, dfa_prompts=8)
    """

    # a latent is attributed to head h when h holds at least this share of its decoder norm
    attribution_threshold: float = Field(0.5, gt=0, le=1)
    # latents read per head, the most attributed first (Kissane et al. read the top 10)
    top_k: int = Field(10, ge=1)
    # two attributed latents are one role of the head when their decoder blocks in that
    # head have cosine at least this (near-duplicate writes: one feature split finely)
    same_role_cosine: float = Field(0.5, ge=-1, le=1)
    # a latent counts (is alive) when it fired on at least this many streamed tokens
    min_firings: int = Field(1, ge=1)
    n_resamples: int = Field(1000, ge=10)  # bootstrap over latents
    null_seeds: int = Field(5, ge=1)  # random dictionaries averaged for the nulls
    # direct feature attribution: the first contexts of the streamed token set, cut to
    # dfa_max_tokens, and on each the latents of largest activation
    dfa_prompts: int = Field(4, ge=0)
    dfa_max_tokens: int = Field(64, ge=2)
    dfa_latents_per_prompt: int = Field(3, ge=1)
    dfa_top_sources: int = Field(5, ge=1)  # source positions listed per example
    seed: int = 0


class HeadAttributionMetrics(EvalMetrics):
    """Weight-based head attribution over alive latents, and the DFA concentration."""

    polysemantic_head_fraction: float | None = metric(
        "fraction of heads with two or more roles among their top_k latents", None
    )
    monosemantic_head_fraction: float | None = metric(
        "fraction of heads with exactly one role among their top_k latents", None
    )
    unattributed_head_fraction: float | None = metric(
        "fraction of heads none of whose top_k latents is attributed to them", None
    )
    single_head_latent_fraction: float | None = metric(
        "fraction of alive latents with one head holding >= attribution_threshold of the "
        "decoder norm",
        None,
    )
    mean_max_head_share: float | None = metric(
        "mean over alive latents of the largest head share of decoder norm", None
    )
    mean_effective_heads: float | None = metric(
        "mean over alive latents of 1 / sum_h share_h^2 (1: one head, n_heads: even)", None
    )
    dfa_top_source_share: float | None = metric(
        "mean over DFA examples of the top source position's share of sum |DFA|", None
    )
