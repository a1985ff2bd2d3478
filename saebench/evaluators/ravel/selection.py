"""Which coordinates to swap: a learned mask (MDBM), a probe selection, and the DAS training.

MDBM (RAVEL's multi-task DBM, as SAEBench runs it over SAE latents): a logit ``m`` per
coordinate, initialised at zero, and the soft weights ``sigmoid(m / T)`` mix source and base
codes. ``T`` falls log-linearly from ``temperature_start`` to ``temperature_end`` over the
steps, so the weights end near 0 or 1; the loss is the cross-entropy of the expected
answer's first token (the source's value for cause pairs, the base's for isolation pairs)
at the base's last token, through the frozen model's tail, plus ``l1`` times the mean weight
(0 by default, as in SAEBench and Chaudhary & Geiger). Evaluation uses the hard set
``m > 0``. DAS trains the rotation of a :class:`DasFeaturizer` with the same loss and the
subspace always swapped.

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

from saebench.evaluators.ravel.interventions import PairChunk, first_token_logits


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
    with runner.frozen(), _no_grad_params(featurizer):
        for step, temperature in zip(order, temperatures(schedule).tolist(), strict=True):
            chunk = chunks[step]
            weights = torch.sigmoid(logits_m / temperature)
            out = first_token_logits(runner, chunk, featurizer, weights, schedule.keep_error)
            loss = torch.nn.functional.cross_entropy(out.float(), chunk.expected_first)
            loss = loss + schedule.l1 * weights.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (logits_m.detach() > 0).cpu()


def train_das(
    runner, das, chunks: Sequence[PairChunk], schedule: MaskSchedule, seed: int | str
) -> None:
    """Fit ``das``'s rotation in place (its subspace always swapped)."""
    if not chunks or schedule.steps == 0:
        return
    opt = torch.optim.Adam(das.parameters(), lr=schedule.lr)
    swap = das.swap_weights()
    with runner.frozen():
        for step in chunk_order(len(chunks), schedule.steps, seed):
            chunk = chunks[step]
            out = first_token_logits(runner, chunk, das, swap)
            loss = torch.nn.functional.cross_entropy(out.float(), chunk.expected_first)
            opt.zero_grad()
            loss.backward()
            opt.step()
    das.requires_grad_(False)


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
    ``codes`` ``[n, d_sae]``, as a bool mask ``[d_sae]``; none when a single value is seen."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    x = codes.detach().double().cpu().numpy()
    chosen = torch.zeros(codes.shape[1], dtype=torch.bool)
    if len(set(labels)) < 2:
        return chosen
    # one L1 problem per value (liblinear is exact for L1 and fits no multinomial model)
    one = LogisticRegression(
        C=c, solver="liblinear", random_state=seed, max_iter=1000, **_l1_penalty()
    )
    probe = OneVsRestClassifier(one).fit(x, list(labels))
    coef = np.vstack([np.abs(e.coef_) for e in probe.estimators_])
    weight = torch.from_numpy(coef.sum(0))
    nonzero = weight > 0
    if int(nonzero.sum()) > max_latents:
        nonzero = torch.zeros_like(nonzero)
        nonzero[weight.topk(max_latents).indices] = True
    return nonzero


def _l1_penalty() -> dict:
    """The L1 penalty as this scikit-learn spells it (``penalty`` is deprecated in 1.8)."""
    import sklearn

    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    return {"l1_ratio": 1.0} if (major, minor) >= (1, 8) else {"penalty": "l1"}
