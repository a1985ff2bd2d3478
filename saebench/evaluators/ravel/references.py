"""The references beside every SAE, each a record of its own: the neuron basis split by sign
(``neurons``, like for like with a ReLU SAE's latents), the linear neuron basis
(``neurons_linear``), PCA of each target's training prompts (``pca``), and the learned
rotations: DAS as RAVEL defines it (cause pairs only) and MDAS (cause and isolation pairs),
each with its dimension chosen on the validation pairs.

All run through the same interventions as the SAE, on the same pairs, with the same mask
learning (the bases) or a learned rotation (DAS, MDAS), as Chaudhary & Geiger's study does.
They do not depend on the SAE, so :func:`shared_references` computes each once per (run key,
hook, seed) and keeps it in ``context.shared``: the zoo's SAEs on one hook pay once, and
since every seed comes from the key's parts the numbers are the same whichever SAEs share
the run.

Example:
    >>> refs = shared_references(context.shared, runner, data, sae.meta, settings,
    ...                          methods=("neurons", "das"), key=run_key)
    >>> refs["das"].scores["country"]["entity"]["disentanglement"]
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from saebench.evaluators.ravel.featurizers import (
    IdentityFeaturizer,
    PcaFeaturizer,
    SplitNeuronFeaturizer,
)
from saebench.evaluators.ravel.methods import MethodResult, RunSettings, run_das, run_mdbm
from saebench.evaluators.ravel.prepared import HookData

REFERENCES = ("neurons", "neurons_linear", "pca", "das", "mdas")


def shared_references(
    shared: dict,
    runner,
    data: HookData,
    meta,
    settings: RunSettings,
    *,
    methods: Sequence[str],
    key: tuple = (),
) -> dict[str, MethodResult]:
    """Each reference of ``methods`` at ``data.hook`` for ``data.seed``, once per ``key``."""
    out = {}
    for method in methods:
        slot = ("ravel-reference", key, data.hook, data.seed, method)
        if slot not in shared:
            began = time.process_time()
            result = run_reference(method, runner, data, meta, settings)
            shared[slot] = (result, time.process_time() - began)
        out[method] = shared[slot][0]
    return out


def reference_seconds(shared: dict, key: tuple, hook: str) -> dict[str, float]:
    """How long each reference at ``hook`` took when it was computed (summed over seeds)."""
    out: dict[str, float] = {}
    for slot, value in shared.items():
        if isinstance(slot, tuple) and slot[:3] == ("ravel-reference", key, hook):
            out[slot[4]] = round(out.get(slot[4], 0.0) + value[1], 3)
    return out


def run_reference(method: str, runner, data: HookData, meta, settings: RunSettings):
    """One reference on one seed's pairs."""
    d = data.d or runner.model.cfg.d_model
    result = MethodResult(size={"neurons": 2 * d, "neurons_linear": d, "pca": d}.get(method, 0))
    seed = data.seed
    if method == "neurons":
        split = SplitNeuronFeaturizer(meta, d)
        run_mdbm(runner, lambda t: split, data, settings, method, seed=seed, result=result)
    elif method == "neurons_linear":
        linear = IdentityFeaturizer(meta, d)
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
    return PcaFeaturizer(meta, data.targets[target].train_x)
