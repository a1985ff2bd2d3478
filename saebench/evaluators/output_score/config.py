"""The ``output_score`` evaluator's config and metrics: a leaf that loads no torch (listing
evaluators, planning and reading records import it alone).

Example:
    >>> OutputScoreConfig(n_latents=64, seed=1).threshold
    0.01
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from saebench.evaluators import EvalConfig, EvalMetrics, metric

# The neutral prompt of the paper's code (src/output_score.py). The zoo's word-level
# vocabulary lacks "From", "my" and "experience", so when the model's tokenizer maps a word
# of the paper's prompt to its unknown token the fallback (every word known there) is used.
PAPER_PROMPT = "From my experience,"
FALLBACK_PROMPT = "It is said that"

# The output-score thresholds the paper's plotting code sweeps (src/plot.py); the record
# gives the fraction of latents at or above each.
THRESHOLD_SWEEP = (1e-6, 1e-4, 1e-3, 0.01, 0.1, 0.3, 0.5)

# Settings for `saebench quickstart`: 128 latents per SAE (the zoo's 14 SAEs in a few seconds
# of tail forwards), the paper's other settings.
QUICKSTART_CONFIG: dict[str, Any] = {"n_latents": 128}


class OutputScoreConfig(EvalConfig):
    """How many latents, how strongly they are amplified, and how they are scored.

    Example:
        >>> OutputScoreConfig(n_latents=512, prompt="In my opinion,")
    """

    # latents sampled uniformly without replacement (seeded; the first n of a seed's
    # permutation, so a larger sample contains a smaller one); every latent when >= d_sae
    n_latents: int = Field(256, ge=1)
    seed: int = Field(0, ge=0)
    # the neutral prompt amplified at its last token; None: the paper's, or the fallback
    # when the model's tokenizer does not know one of its words (the zoo)
    prompt: str | None = None
    # the latent's code at the prompt's last token is raised by amp_factor times the largest
    # code there (the paper's AmlifySAEHook, amp_factor 10)
    amp_factor: float = Field(10.0, ge=0)
    lens_top_k: int = Field(20, ge=1)  # logit-lens tokens per latent (the paper's 20)
    # a latent is an "output feature" when its output score is at least this
    threshold: float = Field(0.01, ge=0, le=1)
    # top activating contexts per latent for the input score (the paper's 100), and the
    # fewest a latent needs to get one (the paper skips features with fewer than 10)
    n_top_examples: int = Field(100, ge=1)
    min_examples: int = Field(10, ge=1)


class OutputScoreMetrics(EvalMetrics):
    """Means over the sampled latents; None on a skipped record."""

    output_score_mean: float | None = metric(
        "mean output score of sampled latents: (1 - best lens-token rank / vocab) x its "
        "probability at the prompt's last token, the latent amplified",
        True,
    )
    output_score_median: float | None = metric("median output score of sampled latents", True)
    output_fraction_above: float | None = metric(
        "fraction of sampled latents whose output score is at least the threshold", True
    )
    output_score_excess: float | None = metric(
        "mean over sampled latents of output score minus that of a random direction of the "
        "same norm amplified the same way",
        True,
    )
    input_score_mean: float | None = metric(
        "mean input score (share of top activating contexts whose peak token is among the "
        "latent's lens tokens) over latents with at least min_examples contexts",
        None,
    )
