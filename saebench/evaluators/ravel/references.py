"""The references beside every SAE, each a record of its own: the neuron basis split by sign
(``neurons``, like for like with a ReLU SAE's latents), the linear neuron basis
(``neurons_linear``), PCA of each target's training prompts (``pca``), and the learned
rotations: DAS as RAVEL defines it (cause pairs only) and MDAS (cause and isolation pairs),
each with its dimension chosen on the validation pairs.

All run through the same interventions as the SAE, on the same pairs, with the same mask
learning (the bases) or a learned rotation (DAS, MDAS), as Chaudhary & Geiger's study does.
They do not depend on the SAE: ``RavelEvaluator.prepare`` runs them once per hook (and seed)
for every SAE of the run, and since every seed comes from the run's parts the numbers are
the same whichever SAEs share the run.

Example:
    >>> refs = run_references(("neurons", "das"), runner, data, hook_view(sae.meta), settings)
    >>> result, cpu_seconds = refs["das"]
    >>> result.scores["country"]["entity"]["disentanglement"]
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from saebench.evaluators.ravel.featurizers import linear_neurons, split_neurons, target_pca
from saebench.evaluators.ravel.methods import MethodResult, RunSettings, run_das, run_mdbm
from saebench.evaluators.ravel.prepared import HookData

REFERENCES = ("neurons", "neurons_linear", "pca", "das", "mdas")


def run_references(
    methods: Sequence[str], runner, data: HookData, meta, settings: RunSettings
) -> dict[str, tuple[MethodResult, float]]:
    """Each reference of ``methods`` on ``data`` (one hook, one seed), with its CPU seconds."""
    out = {}
    for method in methods:
        began = time.process_time()
        result = run_reference(method, runner, data, meta, settings)
        out[method] = (result, time.process_time() - began)
    return out


def run_reference(method: str, runner, data: HookData, meta, settings: RunSettings):
    """One reference on one seed's pairs."""
    d = data.d or runner.model.cfg.d_model
    result = MethodResult(size={"neurons": 2 * d, "neurons_linear": d, "pca": d}.get(method, 0))
    seed = data.seed
    if method == "neurons":
        split = split_neurons(meta, d)
        run_mdbm(runner, lambda t: split, data, settings, method, seed=seed, result=result)
    elif method == "neurons_linear":
        linear = linear_neurons(meta, d)
        run_mdbm(runner, lambda t: linear, data, settings, method, seed=seed, result=result)
    elif method == "pca":
        if data.d is None:
            return result
        run_mdbm(
            runner, lambda t: _pca(meta, data, t), data, settings, method, seed=seed, result=result
        )
    elif method in ("das", "mdas"):
        run_das(runner, meta, d, data, settings, seed=seed, result=result, method=method)
    else:
        raise ValueError(f"unknown RAVEL reference {method!r}; use some of {', '.join(REFERENCES)}")
    return result


def _pca(meta, data: HookData, target: str):
    """PCA of ``target``'s own training prompts (another target never changes it)."""
    return target_pca(meta, data.targets[target].train_x)
