"""The ``ravel`` evaluator (entry point ``ravel``): RAVEL's cause, isolation and
disentanglement scores for an SAE's latents, beside the neuron (split and linear), PCA, DAS
and MDAS references, each a record of its own.

Modules, one job each: ``featurizers`` (the SAE, neuron, PCA and DAS "dictionaries" behind
one interface), ``interventions`` (swaps at the patched column, greedy answers, the
teacher-forced loss), ``selection`` (MDBM mask, probe, DAS training), ``prepared`` (pairs
made ready once per hook and seed), ``methods`` and ``references`` (one method's scores),
``scores`` (the arithmetic), ``summary`` (metrics, intervals over pairs, sample sizes),
``run`` (prepare once per hook, evaluate per SAE), ``config`` (config and metrics, a
torch-free leaf), ``evaluator`` (the plug-in). ``instances`` builds the pairs from a task.
Importing this package loads no torch.

Example:
    >>> from saebench.evaluators.ravel import RavelConfig
    >>> RavelConfig(targets=["country"], seeds=[0, 1]).task_request().name
    'zoo-cities'
"""

from saebench.evaluators.ravel.config import QUICKSTART_CONFIG, RavelConfig, RavelMetrics
from saebench.evaluators.ravel.evaluator import RavelEvaluator

__all__ = ["QUICKSTART_CONFIG", "RavelConfig", "RavelEvaluator", "RavelMetrics"]
