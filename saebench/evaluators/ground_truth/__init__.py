"""Ground truth: how well an SAE recovers the features of a synthetic model ``x = a F + b``.

SynthSAEBench's metrics exactly as SAELens's ``eval_sae_on_synthetic_data`` defines them:
MCC (Hungarian matching of decoder rows to true features on |cos|) and uniqueness, which
depend on the weights only; per-latent precision, recall, F1 and accuracy of each latent as a
detector of its best-matching feature; explained variance, shrinkage, L0 against the true L0,
dead latents. Beside them, the MCC and uniqueness of random decoders of the same width (the
record's nulls), and the superposition of the true dictionary. Absorption and hedging by
hierarchy depth are experimental (no published reference). Sample-based metrics carry a
bootstrap interval over blocks of samples.

Modules: :mod:`.config` and :mod:`.evaluator` load no torch; :mod:`.run` accumulates and
summarises; :mod:`.dictionary` (weights only), :mod:`.hierarchy` (experimental),
:mod:`.blocks` (per-block sums, bootstrap) and :mod:`.scores` (metrics of sums) do the work.
``docs/evaluators/ground_truth.md`` has the definitions.

Example:
    >>> records = saebench.evaluate("zoo:synth1k-topk-6-s0", model="synth-1k",
    ...                             n_tokens=50_000, evaluators=["ground_truth"])
    >>> records[0].metrics["mcc"], records[0].nulls["mcc"]
"""

from saebench.evaluators.ground_truth.config import GroundTruthConfig, GroundTruthMetrics
from saebench.evaluators.ground_truth.evaluator import GroundTruthEvaluator

__all__ = ["GroundTruthConfig", "GroundTruthEvaluator", "GroundTruthMetrics"]
