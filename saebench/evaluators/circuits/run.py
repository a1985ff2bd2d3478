"""The work of the ``circuits`` panel: the reference circuit and the head outputs of the
positive (IOI) and negative (ABC) prompts, once per run; then each member SAE's codes, the
scores, their bootstrap intervals and the random-code baseline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from saebench.errors import SaebenchError
from saebench.evaluators import EvalResult
from saebench.evaluators.circuits import scores as S
from saebench.evaluators.circuits.config import CircuitsConfig, CircuitsMetrics
from saebench.models.hooks import hook_layer
from saebench.toolkit import bootstrap
from saebench.toolkit import circuits as C


@dataclass
class Prepared:
    """What every panel of the run shares: the reference circuit, and each layer's ``z`` at
    the chosen position on the positive and negative prompts, ``[n_pairs, n_heads, d_head]``."""

    circuit: C.Circuit
    z_pos: dict[int, torch.Tensor]
    z_neg: dict[int, torch.Tensor]
    cpu_seconds: float


def prepare(context, config: CircuitsConfig) -> Prepared:
    """The reference circuit on the task's prompts, then the head outputs of the prompts the
    model answers and of their ABC counterparts."""
    began = time.process_time()
    task, model = context.task, context.model
    if task is None or model is None:
        raise SaebenchError("circuits needs its task and the model; run it through a plan")
    prompts = task.prompts(config.split)[: config.n_prompts]
    _check_ioi(task.name, prompts)
    circuit = C.reference_circuit(model, prompts, threshold=config.circuit_threshold)
    positives = [prompts[i] for i in circuit.kept]
    names = task.attribute_values().get("io") or sorted({p.answer for p in prompts})
    negatives = C.abc_prompts(positives, names, seed=config.seed)
    z_pos = head_outputs(model, positives, config.position)
    z_neg = head_outputs(model, negatives, config.position)
    return Prepared(circuit, z_pos, z_neg, time.process_time() - began)


def _check_ioi(name: str, prompts) -> None:
    need = set(C.ROLES)
    if not prompts or not need <= set(prompts[0].spans) or "s" not in prompts[0].attributes:
        raise SaebenchError(
            f"circuits: task {name!r} is not an IOI task (spans {', '.join(C.ROLES)} and "
            "attribute 's' needed); use zoo-ioi or smollm2-ioi"
        )


@torch.no_grad()
def head_outputs(model, prompts, position: str) -> dict[int, torch.Tensor]:
    """Each layer's ``hook_z`` at ``position`` (a span's last token, or the mean over real
    tokens), ``{layer: [n, n_heads, d_head]}``."""
    from saebench.models.interventions import ModelRunner

    data = C.ioi_batch(model, prompts)
    hooks = [C.z_hook(layer) for layer in range(model.cfg.n_layers)]
    acts = ModelRunner(model).capture(data.batch, hooks)
    rows = torch.arange(len(prompts))
    out = {}
    for layer in range(model.cfg.n_layers):
        z = acts[C.z_hook(layer)].float()
        if position == "mean":
            real = data.batch.attention_mask[..., None, None].float()
            out[layer] = ((z * real).sum(1) / real.sum(1)).cpu()
        else:
            out[layer] = z[rows, data.batch.last(position)].cpu()
    return out


def member_codes(saes, prepared: Prepared) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """The heads of the members, in (layer, head) order, and their code tables."""
    by_head = {(hook_layer(s.meta.hook_name), s.meta.hook_head_index): s for s in saes}
    heads = sorted(by_head)
    pos, neg = [], []
    for layer, head in heads:
        sae = by_head[(layer, head)]
        for z, table in ((prepared.z_pos, pos), (prepared.z_neg, neg)):
            x = z[layer][:, head].to(sae.W_dec.device, sae.W_dec.dtype)
            table.append(S.argmax_codes(sae.encode(x).float().cpu().numpy()))
    return heads, np.stack(pos, axis=1), np.stack(neg, axis=1)


def evaluate_circuits(saes, config: CircuitsConfig, context) -> EvalResult:
    prepared = context.once("circuits", lambda: prepare(context, config))
    began = time.process_time()
    heads, pos, neg = member_codes(saes, prepared)
    truth = np.array([prepared.circuit.mask()[h] for h in heads])
    values = S.circuit_metrics(pos, neg, truth, config.normalise)
    intervals = _intervals(pos, neg, truth, config)
    randoms = _random_baseline(pos, neg, truth, config)
    circuit = prepared.circuit
    metrics = CircuitsMetrics(
        **values,
        random_node_auc=randoms["node_auc"],
        random_edge_auc=randoms["edge_auc"],
        circuit_faithfulness=circuit.faithfulness,
        n_heads=len(heads),
        n_circuit_heads=int(truth.sum()),
        n_pairs=len(pos),
    )
    details = _details(heads, pos, neg, truth, config, prepared, randoms)
    details["cpu_seconds"] = round(time.process_time() - began, 3)
    nulls = {"node_auc": randoms["node_auc"], "edge_auc": randoms["edge_auc"]}
    nulls |= {"node_best_f1": randoms["node_best_f1"], "edge_best_f1": randoms["edge_best_f1"]}
    sizes = {"prompt_pairs": len(pos), "heads": len(heads)}
    return EvalResult(
        metrics=metrics, details=details, intervals=intervals, nulls=nulls, sample_sizes=sizes
    )


def _intervals(pos, neg, truth, config: CircuitsConfig) -> dict:
    """Bootstrap over prompt pairs (a positive and its ABC counterpart resampled together);
    every metric reads the same resamples, each computed once."""
    memo: dict[bytes, dict] = {}

    def stat(name: str):
        def compute(rows: np.ndarray) -> float:
            key = rows.tobytes()
            if key not in memo:
                index = rows.astype(int)
                memo[key] = S.circuit_metrics(pos[index], neg[index], truth, config.normalise)
            value = memo[key][name]
            return np.nan if value is None else value

        return compute

    rows = np.arange(len(pos), dtype=float)
    names = ("node_auc", "edge_auc", "node_best_f1", "edge_best_f1")
    return {
        name: bootstrap(
            rows, stat(name), unit="prompt_pairs", seed=config.seed, n_resamples=config.n_resamples
        )
        for name in names
    }


def _random_baseline(pos, neg, truth, config: CircuitsConfig) -> dict:
    """Mean (and 95th percentile) of each metric over random code tables."""
    rng = np.random.default_rng(config.seed)
    draws = [
        S.circuit_metrics(*S.permuted_codes(pos, neg, rng), truth, config.normalise)
        for _ in range(config.n_random)
    ]
    out: dict = {}
    for name in draws[0]:
        values = np.array([np.nan if d[name] is None else d[name] for d in draws])
        finite = values[np.isfinite(values)]
        out[name] = float(finite.mean()) if finite.size else None
        out[f"{name}_q95"] = float(np.percentile(finite, 95)) if finite.size else None
    return out


def _details(heads, pos, neg, truth, config, prepared: Prepared, randoms) -> dict:
    labels = [f"L{layer}H{head}" for layer, head in heads]
    pairs = S.pair_scores(pos, neg, config.normalise)
    n_per_layer = len({h for _, h in heads})
    topk = S.topk_edge_head_scores(pairs, n_per_layer**2 // 2)
    nodes = S.node_scores(pos, neg, config.normalise)
    edges = S.edge_head_scores(pairs)
    return {
        "status": "complete",
        "heads": labels,
        "in_circuit": truth.tolist(),
        "node_scores": nodes.round(4).tolist(),
        "edge_scores": edges.round(4).tolist(),
        "distinct_codes": [len(set(pos[:, i]) | set(neg[:, i])) for i in range(len(heads))],
        "edge_auc_topk_rule": S.roc_auc(topk, truth),
        "node_best_f1_reference_variant": S.best_f1(nodes, truth)[1],
        "edge_best_f1_reference_variant": S.best_f1(edges, truth)[1],
        "random_baseline": randoms,
        "reference_circuit": prepared.circuit.summary(),
        "position": config.position,
        "prepare_cpu_seconds": round(prepared.cpu_seconds, 3),
    }
