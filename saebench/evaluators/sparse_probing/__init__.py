"""k-sparse probing: can a few SAE latents tell a task attribute's values apart?

For every value ``v`` of every probed attribute ``a`` of a task, a balanced one-vs-rest
problem ("``a == v``" against the other values, the larger side subsampled, seeded) is
built on the task's train and test splits from the activation at one token of the prompt
(a named span's first or last token, or each prompt's last token). On the train rows the
``k`` latents with the largest standardised mean difference
``|mean(positives) - mean(negatives)| / std`` are selected and a logistic regression
(features standardised on the train rows, L2 penalty ``C = regularization_c``) is fitted on
them; its test accuracy and AUROC are reported for each ``k``. The same probes on the raw
activations (``k`` dimensions chosen the same way, and the full width) are the reference
``raw_activations``, a record of its own; they do not depend on the SAE and are computed
once per run and shared by its SAEs.

Scores are averaged over an attribute's values, then over attributes. Accuracies carry a
bootstrap interval over the test split's entities (or distinct test prompts where a task
has no entities) and their null, the majority-class rate of the test rows (0.5: the
classes are balanced). Modules: :mod:`.config` (config, metrics, targets on a task) and
:mod:`.evaluator` (the plug-in) load no torch; :mod:`.run` prepares once (activations at
the site through :mod:`saebench.toolkit.sites`, the probe plan, the raw probes) and probes
each SAE; :mod:`.probes` and :mod:`.scores` work on arrays.
``docs/evaluators/sparse_probing.md`` has the definitions and the zoo's figures.

Example:
    >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo",
    ...                             evaluators=["sparse_probing"],
    ...                             configs={"sparse_probing": {"attributes": ["continent"]}})
    >>> records[0].metrics["sae_accuracy_k1"], records[0].intervals["sae_accuracy_k1"]
    >>> raw = records[1]  # the reference: sae.uri "reference:sparse_probing/raw_activations@..."
"""

from saebench.evaluators.sparse_probing.config import (
    K_CHOICES,
    QUICKSTART_CONFIG,
    TASK_DEFAULTS,
    SparseProbingConfig,
    SparseProbingMetrics,
    resolve_targets,
)
from saebench.evaluators.sparse_probing.evaluator import SparseProbingEvaluator

__all__ = [
    "K_CHOICES",
    "QUICKSTART_CONFIG",
    "TASK_DEFAULTS",
    "SparseProbingConfig",
    "SparseProbingEvaluator",
    "SparseProbingMetrics",
    "resolve_targets",
]
