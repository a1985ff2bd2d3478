"""The ``output_score`` evaluator (entry point ``output_score``): Arad, Mueller and
Belinkov's (2025) output and input scores of an SAE's latents, with a random-direction null.

Modules, one job each: ``scores`` (the formulas on tensors), ``collect`` (top activating
contexts of the sampled latents, streamed), ``amplify`` (the batched amplified forwards),
``run`` (sampling, sites, prompt, the record), ``config`` (config and metrics, a torch-free
leaf), ``evaluator`` (the plug-in). Importing this package loads no torch.

Example:
    >>> from saebench.evaluators.output_score import OutputScoreConfig
    >>> OutputScoreConfig(n_latents=64).lens_top_k
    20
"""

from saebench.evaluators.output_score.config import (
    QUICKSTART_CONFIG,
    OutputScoreConfig,
    OutputScoreMetrics,
)
from saebench.evaluators.output_score.evaluator import OutputScoreEvaluator

__all__ = ["QUICKSTART_CONFIG", "OutputScoreConfig", "OutputScoreEvaluator", "OutputScoreMetrics"]
