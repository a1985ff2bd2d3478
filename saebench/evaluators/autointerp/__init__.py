"""The autointerp evaluator: LLM explanations of latents, scored by detection, fuzzing and intervention."""

from saebench.evaluators.autointerp.evaluator import (
    AutointerpConfig,
    AutointerpEvaluator,
    AutointerpMetrics,
)

__all__ = ["AutointerpConfig", "AutointerpEvaluator", "AutointerpMetrics"]
