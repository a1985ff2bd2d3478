"""``sae_probes``: sparse probing on the sae-probes datasets, as Kantamneni et al. 2025 ("Are
Sparse Autoencoders Useful? A Case Study in Sparse Probing"; PyPI ``sae-probes``) define it,
the headline concept-detection metric (the SAEBench audit, Chanin 2026, found it the most
reliable of SAEBench's metrics).

Each binary attribute of the task (a sae-probes dataset) is one problem, read at each
prompt's last token. On balanced train rows the ``k`` latents ranked first (standardised mean
difference; or the package's mean-activation-normalised difference with ``method:
sae_probes``) get an L1 logistic regression whose C is chosen from ``logspace(5, -5, 10)`` by
cross-validated AUC; test AUC, accuracy and weighted F1 are averaged over datasets. The same
probe on raw activations and the paper's dense baselines (logistic regression, PCA, kNN) are
references, records of their own. Four regimes at ``main_k``: scarce data, class imbalance,
label noise, covariate shift (the OOD files the package ships). Intervals: bootstrap over
test rows. ``docs/evaluators/sae_probes.md`` has the definitions and SmolLM2's numbers.

Modules: :mod:`.config` and :mod:`.evaluator` load no torch; :mod:`.run` prepares and
evaluates; :mod:`.plan` and :mod:`.sampling` choose rows; :mod:`.fitting` and
:mod:`.baselines` fit; :mod:`.scoring` and :mod:`.report` make the record's numbers.
"""

from saebench.evaluators.sae_probes.config import (
    K_CHOICES,
    QUICKSTART_CONFIG,
    SaeProbesEvalConfig,
    SaeProbesMetrics,
)
from saebench.evaluators.sae_probes.evaluator import SaeProbesEvaluator

__all__ = [
    "K_CHOICES",
    "QUICKSTART_CONFIG",
    "SaeProbesEvalConfig",
    "SaeProbesEvaluator",
    "SaeProbesMetrics",
]
