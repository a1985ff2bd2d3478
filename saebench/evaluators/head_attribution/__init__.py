"""Attention-output SAEs read by head (Kissane et al. 2024, arXiv 2406.17759).

For an SAE on concatenated ``attn.hook_z`` (``n_heads * d_head`` inputs): each alive latent's
share of decoder norm per head, the heads read through their top latents (polysemantic,
monosemantic or unattributed, by a rule on the weights: :mod:`.shares`), and direct feature
attribution of the strongest latents on a few prompts to source positions (:mod:`.dfa`,
:mod:`.examples`; figures in :mod:`.plot`). Intervals bootstrap over latents; the nulls are
random dictionaries of the same shape. Any other SAE gets a skipped record. The CE-loss
score with ``z`` spliced and zero-ablated is the ``reconstruction`` evaluator's.
``docs/evaluators/head_attribution.md`` has the definitions and the zoo's figures.

Example:
    >>> records = saebench.evaluate("zoo:attn-topk-16", model="zoo",
    ...                             evaluators=["head_attribution", "reconstruction"])
"""

from saebench.evaluators.head_attribution.config import (
    QUICKSTART_CONFIG,
    HeadAttributionConfig,
    HeadAttributionMetrics,
)
from saebench.evaluators.head_attribution.evaluator import HeadAttributionEvaluator

__all__ = [
    "QUICKSTART_CONFIG",
    "HeadAttributionConfig",
    "HeadAttributionEvaluator",
    "HeadAttributionMetrics",
]
