"""The work of ``finish``: the sample of latents, where an SAE can be amplified, the prompt,
and the record (metrics, intervals over latents, nulls, the distribution)."""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from saebench.evaluators import EvalResult
from saebench.evaluators.output_score.amplify import amplify
from saebench.evaluators.output_score.collect import TopContexts
from saebench.evaluators.output_score.config import (
    FALLBACK_PROMPT,
    PAPER_PROMPT,
    THRESHOLD_SWEEP,
    OutputScoreConfig,
    OutputScoreMetrics,
)
from saebench.evaluators.output_score.scores import input_scores
from saebench.toolkit.intervals import bootstrap, wilson

# hooks whose activation is the residual stream or is added to it: a step there moves the
# stream, and the logit lens reads a decoder row written there
RESIDUAL_SUFFIXES = ("hook_resid_pre", "hook_resid_mid", "hook_resid_post")
WRITING_SUFFIXES = ("hook_mlp_out", "hook_attn_out")
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def sample_latents(config: OutputScoreConfig, d_sae: int) -> torch.Tensor:
    """The first ``n_latents`` of a seeded permutation of the latents: depends on the seed
    and ``d_sae`` only (never on the batch size or the SAEs sharing the run)."""
    gen = torch.Generator().manual_seed(config.seed)
    return torch.randperm(d_sae, generator=gen)[: config.n_latents]


def make_collector(config: OutputScoreConfig, sae) -> TopContexts:
    return TopContexts(sample_latents(config, sae.d_sae), config.n_top_examples)


def site_problem(sae, model) -> str | None:
    """Why this SAE cannot be amplified and read through the logit lens (None: it can)."""
    meta = sae.meta
    hook = meta.output_hook
    if meta.hook_head_index is not None:
        return f"skipped: an SAE of one head ({meta.hook_name}) writes no residual direction"
    if not hook.endswith(RESIDUAL_SUFFIXES + WRITING_SUFFIXES):
        return f"skipped: {hook} is not the residual stream or an output added to it"
    if sae.d_out != model.cfg.d_model:
        return (
            f"skipped: the decoder writes {sae.d_out} dimensions, not d_model {model.cfg.d_model}"
        )
    return None


def resolve_prompt(config: OutputScoreConfig, model) -> str:
    """The configured prompt, else the paper's unless the tokenizer lacks one of its words."""
    if config.prompt is not None:
        return config.prompt
    tokenizer = model.tokenizer
    unknown = getattr(tokenizer, "unk_token_id", None)
    if unknown is not None and unknown in tokenizer(PAPER_PROMPT)["input_ids"]:
        return FALLBACK_PROMPT
    return PAPER_PROMPT


def run_output_score(config: OutputScoreConfig, context, collector: TopContexts) -> EvalResult:
    sae, runner = context.sae, context.runner
    problem = site_problem(sae, runner.model)
    if problem is not None:
        return EvalResult.skipped(OutputScoreMetrics, problem)
    from saebench.toolkit.determinism import fixed_threads

    began = time.process_time()
    prompt = resolve_prompt(config, runner.model)
    with fixed_threads():  # the forwards' float order does not follow the thread count
        found = amplify(
            sae,
            runner,
            prompt,
            collector.latents,
            config.amp_factor,
            config.lens_top_k,
            config.seed,
        )
    peaks = collector.tokens
    inputs = input_scores(peaks, found.lens, config.min_examples).numpy()
    null_inputs = input_scores(peaks, found.null_lens, config.min_examples).numpy()
    result = summarise(config, found, inputs, null_inputs, collector)
    result.details.update(
        prompt=prompt,
        prompt_tokens=found.prompt_tokens,
        coefficient=round(found.coefficient, 6),
        tail_forwards=2 * len(found.scores),
        cpu_seconds=round(time.process_time() - began, 3),
    )
    result.details["latents"] = _per_latent(found, inputs, collector, runner.model)
    return result


def summarise(config, found, inputs: np.ndarray, null_inputs: np.ndarray, collector) -> EvalResult:
    scores, null = found.scores.numpy(), found.null_scores.numpy()
    n = len(scores)
    above = int((scores >= config.threshold).sum())
    rated = np.isfinite(inputs)
    dead = collector.fired == 0
    metrics = OutputScoreMetrics(
        output_score_mean=float(scores.mean()),
        output_score_median=float(np.median(scores)),
        output_fraction_above=above / n,
        output_score_excess=float((scores - null).mean()),
        input_score_mean=float(inputs[rated].mean()) if rated.any() else None,
    )
    intervals = {
        "output_score_mean": bootstrap(scores, unit="latents", seed=config.seed),
        "output_score_median": bootstrap(scores, np.median, unit="latents", seed=config.seed),
        "output_fraction_above": wilson(above, n, unit="latents"),
        "output_score_excess": bootstrap(scores - null, unit="latents", seed=config.seed),
        "input_score_mean": bootstrap(inputs[rated], unit="latents", seed=config.seed),
    }
    nulls = {
        "output_score_mean": float(null.mean()),
        "output_score_median": float(np.median(null)),
        "output_fraction_above": float((null >= config.threshold).mean()),
        "output_score_excess": 0.0,
        "input_score_mean": _mean_or_none(null_inputs[rated]),
    }
    details = {
        "threshold": config.threshold,
        "output_score_quantiles": _quantiles(scores),
        "null_output_score_quantiles": _quantiles(null),
        "fraction_above": {f"{t:g}": float((scores >= t).mean()) for t in THRESHOLD_SWEEP},
        "null_fraction_above": {f"{t:g}": float((null >= t).mean()) for t in THRESHOLD_SWEEP},
        "null_fraction_above_interval": wilson(
            int((null >= config.threshold).sum()), n, unit="latents"
        ).model_dump(),
        "clean_output_score_mean": float(found.clean_scores.mean()),
        "auroc_vs_null": _auroc(scores, null),
        "input_output_spearman": _spearman(inputs[rated], scores[rated]),
        "sampled_dead": int(dead.sum()),
        "sampled_too_rare": int((~rated & ~dead.numpy()).sum()),
        "tokens_streamed": collector.n_tokens,
    }
    sizes = {"latents": n, "latents_with_input_score": int(rated.sum()), "null_directions": n}
    return EvalResult(metrics, details, intervals=intervals, nulls=nulls, sample_sizes=sizes)


def _per_latent(found, inputs: np.ndarray, collector: TopContexts, model) -> list[dict]:
    tokenizer = model.tokenizer
    rows = []
    for i, latent in enumerate(collector.latents.tolist()):
        rows.append(
            {
                "latent": latent,
                "output_score": round(float(found.scores[i]), 6),
                "null_output_score": round(float(found.null_scores[i]), 6),
                "input_score": None if math.isnan(inputs[i]) else round(float(inputs[i]), 4),
                "firing_count": int(collector.fired[i]),
                "lens_top5": [tokenizer.decode([t]) for t in found.lens[i, :5].tolist()],
            }
        )
    return rows


def _quantiles(values: np.ndarray) -> dict[str, float]:
    return {f"q{round(q * 100)}": float(np.quantile(values, q)) for q in QUANTILES}


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def _auroc(scores: np.ndarray, null: np.ndarray) -> float:
    """P(a latent's score > a random direction's), ties half: the Mann-Whitney statistic."""
    greater = (scores[:, None] > null[None, :]).mean()
    ties = (scores[:, None] == null[None, :]).mean()
    return float(greater + ties / 2)


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)
