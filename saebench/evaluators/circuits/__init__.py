"""``circuits``: circuit identification from discrete SAE codes (O'Neill and Bui 2024,
arXiv 2405.12522), scored against the model's own circuit.

A panel of per-head SAEs (one SAE on each attention head's ``hook_z``) codes every head of
every positive (IOI) and negative (ABC) prompt by its argmax latent. Node scores (codes seen
on positives, never on negatives) and edge scores (code pairs of two heads likewise) rank
the heads; their ROC-AUC and best F1 are measured against the reference circuit found by
mean-ablating heads (:mod:`saebench.toolkit.circuits`), with bootstrap intervals over prompt
pairs and random codes of the same per-head frequencies as the null.
``docs/evaluators/circuits.md``.
"""

from saebench.evaluators.circuits.config import CircuitsConfig, CircuitsMetrics
from saebench.evaluators.circuits.evaluator import CircuitsEvaluator

__all__ = ["CircuitsConfig", "CircuitsEvaluator", "CircuitsMetrics"]
