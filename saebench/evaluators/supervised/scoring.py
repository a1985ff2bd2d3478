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

import zlib

import numpy as np
import torch
from torch import Tensor

import saebench.evaluators.supervised.approximation as approx
import saebench.evaluators.supervised.control as control
from saebench.evaluators.supervised.interpretability import latent_scores, summarise
from saebench.evaluators.supervised.study import Study


def _approximation(study: Study, hat: Tensor, mean_hat: Tensor) -> dict:
    removal = approx.removal_values(study.eval_acts, hat, mean_hat)
    values = [hat.float(), removal.float()]
    lds, _ = study.site.run(study.prepared, values, study.answer, study.counter)
    ld_hat, ld_removed = (float(x.double().mean()) for x in lds)
    rows = torch.stack(
        [lds[0].double(), lds[1].double(), study.ld_clean_rows, study.ld_mean_rows], 1
    )
    return {
        "sufficiency": approx.fraction_kept(ld_hat, study.ld_clean, study.ld_mean),
        "necessity": approx.fraction_removed(ld_removed, study.ld_clean, study.ld_mean),
        "logit_diff_reconstructed": ld_hat,
        "logit_diff_removed": ld_removed,
        "rows": rows.numpy(),  # per held-out prompt: hat, removed, clean, mean-ablated
    }


def _edit_scores(study: Study, edits: dict[str, list[tuple[Tensor, Tensor]]]) -> dict:
    """Per named edit, each pair's hit and removed weight, pooled over builders in study
    order. ``edits[name]`` holds one (edited acts, removed weight) per builder."""
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
            "hits": torch.cat(hits).double().numpy() if hits else np.zeros(0),
            "removed": torch.cat(removed).double().numpy() if removed else np.zeros(0),
        }
    return {"edits": out, "per_builder": per_builder}


def pair_folds(study: Study, seed: int) -> np.ndarray:
    """Each scored pair's fold (0 or 1), alternating over a seeded order within each builder,
    pooled in study order."""
    out = []
    for pairs in (p for p in study.pairs.values() if len(p.rows)):
        rng = np.random.default_rng([seed, zlib.crc32(pairs.builder.encode())])
        order = rng.permutation(len(pairs.rows))
        fold = np.empty(len(order), dtype=np.int64)
        fold[order] = np.arange(len(order)) % 2
        out.append(fold)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def best_size(hits: dict[int, np.ndarray], mask: np.ndarray) -> int | None:
    """The size of best accuracy over the pairs in ``mask`` (the smaller on ties)."""
    if not hits or not mask.any():
        return None
    return max(hits, key=lambda n: (float(hits[n][mask].mean()), -n))


def cross_fitted(hits: dict[int, np.ndarray], folds: np.ndarray) -> tuple[np.ndarray, dict]:
    """Each pair's hit at the size chosen on the *other* fold, and the sizes chosen.

    Choosing the best of several sizes on the pairs it is then scored on reports the
    maximum of noisy accuracies, an upward bias that grows with the number of sizes; each
    half is scored at the size the other half chose. A fold without pairs borrows the
    other's choice."""
    out = np.zeros(len(folds))
    chosen = {}
    for fold in (0, 1):
        here, there = folds == fold, folds != fold
        n = best_size(hits, there) if there.any() else best_size(hits, here)
        if n is None:
            continue
        chosen[fold] = n
        out[here] = hits[n][here]
    return out, chosen


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
    null = permuted_label_summary(train_codes > 0, study, config)
    edits = _sae_edits(study, sae, scores, config)
    control_scores = _edit_scores(study, edits) if edits else {"edits": {}, "per_builder": {}}
    pair_values, chosen = _chosen_sizes(control_scores["edits"], study, config, metrics)
    for key in ("mean_best_f1", "fraction_values_covered", "occluded_values", "oversplit_values"):
        metrics[key] = summary[key]
    details = {
        "edits": {
            name: {"accuracy": _mean(v["hits"]), "magnitude": _mean(v["removed"])}
            for name, v in control_scores["edits"].items()
        },
        "edits_per_builder": control_scores["per_builder"],
        "edit_sizes_chosen": {p: {f"fold_{f}": n for f, n in c.items()} for p, c in chosen.items()},
        "interpretability": {k: v for k, v in summary.items() if k not in metrics},
    }
    return {
        "metrics": metrics,
        "details": details,
        "pairs": pair_values,
        "best_f1": summary["best_f1"],
        "null": null,
    }


def _sae_edits(study: Study, sae, scores: Tensor, config) -> dict[str, list]:
    """Per edit name (``aware_{n}``, ``agnostic_{k}``), one (edited acts, removed weight)
    per builder with scored pairs, in study order."""
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
    return edits


def _chosen_sizes(scored: dict, study: Study, config, metrics: dict) -> tuple[dict, dict]:
    """Per kind of edit, each pair's hit and removed weight at the size chosen on the other
    fold (into ``metrics``: accuracy, magnitude and the size best on all pairs)."""
    folds = pair_folds(study, config.seed)
    pair_values, chosen = {}, {}
    for prefix, sizes in (("aware", config.aware_sizes), ("agnostic", config.agnostic_sizes)):
        hits = {n: scored[f"{prefix}_{n}"]["hits"] for n in sizes if f"{prefix}_{n}" in scored}
        removed = {n: scored[f"{prefix}_{n}"]["removed"] for n in hits}
        held_out, chosen[prefix] = cross_fitted(hits, folds) if hits else (np.zeros(0), {})
        shown = best_size(hits, np.ones(len(folds), dtype=bool)) if hits else None
        magnitude = np.zeros(len(folds))
        for fold, n in chosen[prefix].items():
            magnitude[folds == fold] = removed[n][folds == fold]
        pair_values[prefix] = (held_out, magnitude)
        metrics[f"edit_accuracy_{prefix}"] = float(held_out.mean()) if len(held_out) else None
        metrics[f"edit_magnitude_{prefix}"] = float(magnitude.mean()) if len(held_out) else None
        metrics[f"edit_size_{prefix}"] = shown
    return pair_values, chosen


def _mean(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 4) if len(values) else None


def permuted_label_summary(active: Tensor, study: Study, config) -> dict:
    """Interpretability with the training prompts' labels permuted (seeded): what
    ``mean_best_f1`` and ``fraction_values_covered`` are for latents unrelated to the
    labels, with the same firing rates and value frequencies (the metric's null)."""
    gen = torch.Generator().manual_seed(config.seed)
    order = torch.randperm(len(study.train_values), generator=gen)
    scores = latent_scores(active, study.train_values[order])
    summary = summarise(
        scores, study.value_names, None, config.f1_threshold, config.min_value_count
    )
    return {k: summary[k] for k in ("mean_best_f1", "fraction_values_covered")}


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
    hits = removed = np.zeros(0)
    per_builder = {}
    if edits["supervised"]:
        scores = _edit_scores(study, edits)
        hits = scores["edits"]["supervised"]["hits"]
        removed = scores["edits"]["supervised"]["removed"]
        per_builder = {b: row["supervised"] for b, row in scores["per_builder"].items()}
    metrics["edit_accuracy"] = float(hits.mean()) if len(hits) else None
    metrics["edit_magnitude"] = float(removed.mean()) if len(removed) else None
    return {
        "metrics": metrics,
        "details": {"edits_per_builder": per_builder},
        "pairs": (hits, removed),
    }


def baseline_dictionaries(study: Study, names: list[str], seed: int) -> dict:
    """The reference dictionaries at this site, fitted on the train activations (on one
    thread: PCA's decomposition follows the float order of the thread count)."""
    from saebench.toolkit.determinism import fixed_threads
    from saebench.toolkit.references import neuron_basis, pca_basis, random_dictionary

    acts, meta = study.train_acts, {"hook_name": study.site.hook}
    width = acts.shape[1]
    makers = {
        "neurons": lambda: neuron_basis(acts, meta=meta),
        "pca": lambda: pca_basis(acts, meta=meta),
        "random": lambda: random_dictionary(
            acts, d_sae=2 * width, k=min(16, width), seed=seed, meta=meta
        ),
    }
    with fixed_threads():
        return {name: makers[name]() for name in names}
