"""The references beside every SAE: the neuron basis (baseline), PCA, and DAS (skyline).

All three run through the same interventions as the SAE, on the same pairs, with the same
mask learning (neurons and PCA) or a learned rotation (DAS), as Chaudhary & Geiger's study
does. They do not depend on the SAE, so :func:`shared_references` computes them once per
(run key, hook) and keeps them in ``context.shared``: the zoo's SAEs on one hook pay once,
and since every seed comes from the key's parts the numbers are the same whichever SAEs
share the run.

Example:
    >>> refs = shared_references(context.shared, runner, data, sae.meta, settings,
    ...                          methods=("neurons", "pca", "das"), key=run_key)
    >>> refs["das"].scores["country"]["entity"]["disentanglement"]
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from saebench.evaluators.ravel.featurizers import IdentityFeaturizer, PcaFeaturizer
from saebench.evaluators.ravel.methods import MethodResult, RunSettings, run_das, run_mdbm
from saebench.evaluators.ravel.prepared import HookData

REFERENCES = ("neurons", "pca", "das")


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
    """Each reference of ``methods`` at ``data.hook``, computed once per ``key``."""
    out = {}
    for method in methods:
        slot = ("ravel-reference", key, data.hook, method)
        if slot not in shared:
            began = time.process_time()
            result = run_reference(method, runner, data, meta, settings)
            shared[slot] = (result, time.process_time() - began)
        out[method] = shared[slot][0]
    return out


def reference_seconds(shared: dict, key: tuple, hook: str) -> dict[str, float]:
    """How long each reference at ``hook`` took when it was computed."""
    return {
        slot[3]: round(value[1], 3)
        for slot, value in shared.items()
        if isinstance(slot, tuple) and slot[:3] == ("ravel-reference", key, hook)
    }


def run_reference(method: str, runner, data: HookData, meta, settings: RunSettings):
    d = data.train_x.shape[1] if data.train_x is not None else runner.model.cfg.d_model
    if method == "neurons":
        return run_mdbm(runner, IdentityFeaturizer(meta, d), data, settings, "neurons")
    if method == "pca":
        if data.train_x is None:
            return MethodResult()
        return run_mdbm(runner, PcaFeaturizer(meta, data.train_x), data, settings, "pca")
    if method == "das":
        return run_das(runner, meta, d, data, settings)
    raise ValueError(f"unknown RAVEL reference {method!r}; use some of {', '.join(REFERENCES)}")
