"""The ``supervised`` evaluator (Makelov, Lange & Nanda 2024): an SAE against supervised
feature dictionaries of a labelled task, on approximation, control and interpretability.

Modules, one job each: :mod:`.dictionaries` (the supervised codes), :mod:`.task_metric`
(logit of the answer minus the counterfactual answer), :mod:`.site` (activations at a hook
and position, runs under replacements), :mod:`.approximation` (sufficiency, necessity),
:mod:`.control` (supervised, interpretation-aware and -agnostic edits), :mod:`.interpretability`
(F1 of latents, occlusion, over-splitting), :mod:`.study` and :mod:`.scoring` (the prepared
part and per-dictionary scores), :mod:`.run` (the preparation and records' numbers),
:mod:`.config` (config and metrics) and :mod:`.evaluator` (the plug-in); the last two import
no torch.

Example:
    >>> from saebench.evaluators.supervised import SupervisedConfig, QUICKSTART_CONFIG
    >>> SupervisedConfig(**QUICKSTART_CONFIG).n_eval
"""

from saebench.evaluators.supervised.config import (
    QUICKSTART_CONFIG,
    SupervisedConfig,
    SupervisedMetrics,
)
from saebench.evaluators.supervised.evaluator import SupervisedEvaluator

__all__ = ["QUICKSTART_CONFIG", "SupervisedConfig", "SupervisedEvaluator", "SupervisedMetrics"]
