"""Which coordinates to swap: a learned mask (MDBM), a probe selection, and the DAS training.

MDBM (RAVEL's multi-task DBM, as SAEBench runs it over SAE latents): a logit ``m`` per
coordinate, initialised at zero, and the soft weights ``sigmoid(m / T)`` mix source and base
codes. ``T`` falls log-linearly from ``temperature_start`` to ``temperature_end`` over the
steps, so the weights end near 0 or 1; the loss is the cross-entropy of every token of the
expected answer (the source's value for cause pairs, the base's for isolation pairs),
teacher-forced through the frozen model's tail, as the answers are scored on all their
tokens, plus ``l1`` times the mean weight (0 by default, as in SAEBench and Chaudhary &
Geiger). Evaluation uses the hard set ``m > 0``. DAS trains the rotation of a
:class:`DasFeaturizer` with the same loss and the subspace always swapped, epoch after epoch
until the epoch's mean loss stops falling (:func:`train_das`).

Every training runs inside :func:`saebench.toolkit.determinism.fixed_threads`, so a mask,
a rotation or a probe is the same whatever torch's thread count (local run or Ray worker).

The probe selection fits an L1 logistic regression on the codes at the entity token that
predicts the target attribute's value, and keeps the latents with a nonzero weight for any
class (at most ``max_latents``, those of largest total absolute weight).

Example:
    >>> mask = train_mask(runner, sae, chunks, MaskSchedule(steps=200), seed=0)   # bool [d_sae]
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from saebench.evaluators.ravel.interventions import PairChunk, answer_loss
from saebench.toolkit.determinism import fixed_threads
from saebench.toolkit.probes import l1_probe_weights


@dataclass(frozen=True)
class MaskSchedule:
    """How a mask (or a DAS rotation) is trained."""

    steps: int = 200
    lr: float = 0.05
    temperature_start: float = 1.0
    temperature_end: float = 0.01
    l1: float = 0.0
    keep_error: bool = False


def chunk_order(n_chunks: int, steps: int, seed: int | str) -> list[int]:
    """Which training chunk each step uses: epochs of seeded shuffles of the chunks."""
    rng = random.Random(f"ravel-order|{seed}")
    order: list[int] = []
    while len(order) < steps:
        epoch = list(range(n_chunks))
        rng.shuffle(epoch)
        order += epoch
    return order[:steps]


def temperatures(schedule: MaskSchedule) -> Tensor:
    """The temperature of every step, log-spaced from start to end."""
    return torch.logspace(
        torch.log10(torch.tensor(schedule.temperature_start)),
        torch.log10(torch.tensor(schedule.temperature_end)),
        max(schedule.steps, 1),
    )


def train_mask(
    runner, featurizer, chunks: Sequence[PairChunk], schedule: MaskSchedule, seed: int | str
) -> Tensor:
    """The hard mask ``[d_sae]`` (bool) learned on the training ``chunks``."""
    if not chunks or schedule.steps == 0:
        return torch.zeros(featurizer.d_sae, dtype=torch.bool)
    device = chunks[0].source_x.device
    logits_m = torch.zeros(featurizer.d_sae, device=device, requires_grad=True)
    opt = torch.optim.Adam([logits_m], lr=schedule.lr)
    order = chunk_order(len(chunks), schedule.steps, seed)
    with fixed_threads(), runner.frozen(), _no_grad_params(featurizer):
        for step, temperature in zip(order, temperatures(schedule).tolist(), strict=True):
            chunk = chunks[step]
            weights = torch.sigmoid(logits_m / temperature)
            loss = answer_loss(runner, chunk, featurizer, weights, schedule.keep_error)
            loss = loss + schedule.l1 * weights.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (logits_m.detach() > 0).cpu()


@dataclass(frozen=True)
class DasSchedule:
    """How a DAS rotation is trained: epochs over the training chunks until ``patience``
    epochs in a row fail to lower the best epoch's mean loss by ``tol`` (relative), or
    ``max_steps`` steps."""

    max_steps: int = 2000
    lr: float = 0.01
    tol: float = 0.01
    patience: int = 3


def train_das(
    runner,
    das,
    chunks: Sequence[PairChunk],
    schedule: DasSchedule,
    seed: int | str,
    kinds: Sequence[str] = ("cause", "isolation"),
) -> dict:
    """Fit ``das``'s rotation in place (its subspace always swapped) until convergence, on
    the pairs of ``kinds`` (DAS: cause pairs; MDAS: both); returns ``{"steps", "epochs",
    "converged", "loss"}`` (the last epoch's mean loss)."""
    info = {"steps": 0, "epochs": 0, "converged": False, "loss": None}
    if not chunks or schedule.max_steps == 0:
        return info
    opt = torch.optim.Adam(das.parameters(), lr=schedule.lr)
    swap = das.swap_weights()
    order = chunk_order(len(chunks), schedule.max_steps, seed)
    best, stale = None, 0
    with fixed_threads(), runner.frozen():
        for start in range(0, len(order), len(chunks)):
            total = 0.0
            epoch = order[start : start + len(chunks)]
            for step in epoch:
                chunk = chunks[step]
                rows = torch.tensor([p.kind in kinds for p in chunk.pairs])
                if not bool(rows.any()):
                    continue
                loss = answer_loss(runner, chunk, das, swap, rows=rows)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach())
            mean = total / len(epoch)
            info.update(steps=start + len(epoch), epochs=info["epochs"] + 1, loss=round(mean, 5))
            if best is None or mean < best - schedule.tol * abs(best):
                best, stale = mean, 0
            else:
                stale += 1
            if stale >= schedule.patience:
                info["converged"] = True
                break
    das.requires_grad_(False)
    return info


@contextmanager
def _no_grad_params(module) -> Iterator[None]:
    """An SAE's own weights get no gradient while a mask over its latents learns."""
    params = list(module.parameters()) if hasattr(module, "parameters") else []
    thawed = [p for p in params if p.requires_grad]
    for p in thawed:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in thawed:
            p.requires_grad_(True)


def probe_select(
    codes: Tensor, labels: Sequence[str], *, c: float, max_latents: int, seed: int
) -> Tensor:
    """Latents with a nonzero weight in an L1 logistic regression of ``labels`` on
    ``codes`` ``[n, d_sae]`` (:func:`~saebench.toolkit.probes.l1_probe_weights`), at most
    ``max_latents`` of the largest, as a bool mask ``[d_sae]``; none when a single value is
    seen."""
    chosen = torch.zeros(codes.shape[1], dtype=torch.bool)
    if len(set(labels)) < 2:
        return chosen
    x = codes.detach().double().cpu().numpy()
    weight = torch.from_numpy(l1_probe_weights(x, labels, c=c, seed=seed))
    nonzero = weight > 0
    if int(nonzero.sum()) > max_latents:
        nonzero = torch.zeros_like(nonzero)
        nonzero[weight.topk(max_latents).indices] = True
    return nonzero
