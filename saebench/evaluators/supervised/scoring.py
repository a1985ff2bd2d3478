"""Every axis for one dictionary against a :class:`~.study.Study`: an SAE (or a baseline
dictionary built as one: neurons, PCA, random), or the supervised dictionary itself.

Each returns ``{"metrics": {...}, "details": {...}}`` with the flat values
``sufficiency``, ``necessity``, ``edit_accuracy*``, ``edit_magnitude*`` and (SAE-like only)
``mean_best_f1``, ``fraction_values_covered``, ``occluded_values``, ``oversplit_values``.

Example:
    >>> score_sae(study, sae, config)["metrics"]["edit_accuracy_aware"]
    >>> score_supervised(study)["metrics"]["sufficiency"]
"""

from __future__ import annotations

import torch
from torch import Tensor

from saebench.evaluators.supervised import approximation as approx
from saebench.evaluators.supervised import control
from saebench.evaluators.supervised.interpretability import latent_scores, summarise
from saebench.evaluators.supervised.study import Study


def _approximation(study: Study, hat: Tensor, mean_hat: Tensor) -> dict:
    removal = approx.removal_values(study.eval_acts, hat, mean_hat)
    values = [hat.float(), removal.float()]
    lds, _ = study.site.run(study.prepared, values, study.answer, study.counter)
    ld_hat, ld_removed = (float(x.double().mean()) for x in lds)
    return {
        "sufficiency": approx.fraction_kept(ld_hat, study.ld_clean, study.ld_mean),
        "necessity": approx.fraction_removed(ld_removed, study.ld_clean, study.ld_mean),
        "logit_diff_reconstructed": ld_hat,
        "logit_diff_removed": ld_removed,
    }


def _edit_scores(study: Study, edits: dict[str, list[tuple[Tensor, Tensor]]]) -> dict:
    """Accuracy and mean removed weight of each named edit, pooled over builders.
    ``edits[name]`` holds one (edited acts, removed weight) per builder, in study order."""
    sets = [p for p in study.pairs.values() if len(p.rows)]
    per_builder: dict[str, dict] = {}
    pooled: dict[str, list] = {name: [[], []] for name in edits}
    for b, pairs in enumerate(sets):
        values = [edits[name][b][0] for name in edits]
        _, tops = study.site.run(
            pairs.bases, values, study.answer[pairs.rows], study.counter[pairs.rows]
        )
        row = {}
        for i, name in enumerate(edits):
            hit = tops[i] == pairs.target
            pooled[name][0].append(hit)
            pooled[name][1].append(edits[name][b][1])
            row[name] = round(float(hit.double().mean()), 4)
        per_builder[pairs.builder] = row
    out = {}
    for name, (hits, removed) in pooled.items():
        out[name] = {
            "accuracy": float(torch.cat(hits).double().mean()) if hits else None,
            "magnitude": float(torch.cat(removed).double().mean()) if removed else None,
        }
    return {"edits": out, "per_builder": per_builder}


def _best(edits: dict, prefix: str, sizes: list[int]) -> tuple[int | None, dict]:
    """The size of best accuracy (smallest on ties) and its scores."""
    scored = [(edits[f"{prefix}_{n}"]["accuracy"], -n, n) for n in sizes]
    scored = [s for s in scored if s[0] is not None]
    if not scored:
        return None, {"accuracy": None, "magnitude": None}
    _, _, n = max(scored)
    return n, edits[f"{prefix}_{n}"]


def score_sae(study: Study, sae, config) -> dict:
    """Approximation, control and interpretability of an SAE-like dictionary."""
    with torch.no_grad():
        return _score_sae(study, sae, config)


def _score_sae(study: Study, sae, config) -> dict:
    codes = sae.encode(study.eval_acts)
    hat = sae.decode(codes, study.eval_acts).float()
    train_codes = sae.encode(study.train_acts)
    mean_hat = sae.decode(train_codes, study.train_acts).double().mean(0).float()
    metrics = _approximation(study, hat, mean_hat)
    scores = latent_scores(train_codes > 0, study.train_values)
    summary = summarise(
        scores, study.value_names, study.strength, config.f1_threshold, config.min_value_count
    )
    edits: dict[str, list] = {}
    for pairs in (p for p in study.pairs.values() if len(p.rows)):
        acts = study.eval_acts[pairs.rows]
        base, source = sae.encode(acts), sae.encode(pairs.source_acts)
        aware = control.aware_edits(
            sae, acts, base, source, pairs.changes, scores, config.aware_sizes
        )
        order = control.greedy_order(
            sae, acts, pairs.source_acts, base, source, max(config.agnostic_sizes)
        )
        agnostic = control.agnostic_edits(sae, acts, base, source, order, config.agnostic_sizes)
        for n, value in aware.items():
            edits.setdefault(f"aware_{n}", []).append(value)
        for k, value in agnostic.items():
            edits.setdefault(f"agnostic_{k}", []).append(value)
    control_scores = _edit_scores(study, edits) if edits else {"edits": {}, "per_builder": {}}
    for prefix, sizes in (("aware", config.aware_sizes), ("agnostic", config.agnostic_sizes)):
        n, best = _best(control_scores["edits"], prefix, sizes) if edits else (None, {})
        metrics[f"edit_accuracy_{prefix}"] = best.get("accuracy")
        metrics[f"edit_magnitude_{prefix}"] = best.get("magnitude")
        metrics[f"edit_size_{prefix}"] = n
    for key in ("mean_best_f1", "fraction_values_covered", "occluded_values", "oversplit_values"):
        metrics[key] = summary[key]
    details = {
        "edits": control_scores["edits"],
        "edits_per_builder": control_scores["per_builder"],
        "interpretability": {k: v for k, v in summary.items() if k not in metrics},
    }
    return {"metrics": metrics, "details": details}


def score_supervised(study: Study) -> dict:
    """Approximation and control of the supervised dictionary (its interpretability is
    perfect by construction: its codes are the labels)."""
    d = study.dictionary
    hat = d.reconstruct(study.eval_labels).float()
    mean_hat = d.reconstruct([dict(p.attributes) for p in study.train]).mean(0).float()
    metrics = _approximation(study, hat, mean_hat)
    edits: dict[str, list] = {"supervised": []}
    for pairs in (p for p in study.pairs.values() if len(p.rows)):
        acts = study.eval_acts[pairs.rows]
        edited = d.edit(acts, pairs.old, pairs.new).float()
        edits["supervised"].append((edited, d.removed_weight(pairs.old, pairs.new)))
    if edits["supervised"]:
        scores = _edit_scores(study, edits)
        metrics["edit_accuracy"] = scores["edits"]["supervised"]["accuracy"]
        metrics["edit_magnitude"] = scores["edits"]["supervised"]["magnitude"]
        per_builder = {b: row["supervised"] for b, row in scores["per_builder"].items()}
    else:
        metrics["edit_accuracy"] = metrics["edit_magnitude"] = None
        per_builder = {}
    return {"metrics": metrics, "details": {"edits_per_builder": per_builder}}


def baseline_dictionaries(study: Study, names: list[str], seed: int) -> dict:
    """The reference dictionaries at this site, fitted on the train activations."""
    from saebench.zoo.train_sae import neuron_basis, pca_basis, random_dictionary

    acts, meta = study.train_acts, {"hook_name": study.site.hook}
    width = acts.shape[1]
    makers = {
        "neurons": lambda: neuron_basis(acts, meta=meta),
        "pca": lambda: pca_basis(acts, meta=meta),
        "random": lambda: random_dictionary(
            acts, d_sae=2 * width, k=min(16, width), seed=seed, meta=meta
        ),
    }
    return {name: makers[name]() for name in names}
