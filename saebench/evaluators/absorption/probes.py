"""The probes of the absorption eval, trained as SAEBench trains them (``probing.py``,
``k_sparse_probing.py`` of sae-bench 0.6.0):

* :func:`train_multi_probe`: one-vs-rest linear probes, one per letter, trained together:
  binary cross-entropy with a positive-class weight (negatives / positives per letter),
  Adam with weight decay, the learning rate decayed exponentially from ``lr`` to ``end_lr``
  over the epochs, shuffled minibatches; an optional L1 term on the weights (the k-sparse
  probe's latent selection: ``l1 * mean over letters of sum |w|``);
* :func:`k_sparse_probe`: on the ``k`` latents of largest (signed) L1-probe weight for a
  letter, a scikit-learn logistic regression with balanced class weights, unscaled;
* :func:`split_latents`: the "main" latents of a letter: grow ``k`` while the k-sparse
  probe's test F1 beats the best so far by more than ``f1_jump``.

Every random draw (initialisation, shuffling) comes from a seeded generator and one torch
thread is used, so a probe is a function of its data and seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProbeSettings:
    epochs: int
    batch_size: int
    lr: float
    end_lr: float
    weight_decay: float
    l1: float = 0.0


def train_multi_probe(x: np.ndarray, labels: np.ndarray, n_classes: int, s: ProbeSettings, seed):
    """``(W [n_classes, d], b [n_classes])`` float32 of one-vs-rest probes on rows ``x``
    with class ``labels`` (ints in ``[0, n_classes)``)."""
    import torch

    from saebench.toolkit.determinism import fixed_threads

    with fixed_threads():
        gen = torch.Generator().manual_seed(seed)
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
        y = torch.nn.functional.one_hot(torch.as_tensor(labels), n_classes).float()
        positives = y.sum(0)
        # a class with no train rows gets weight 0 (SAEBench divides by zero there)
        pos_weight = torch.where(positives > 0, (len(y) - positives) / positives.clamp(min=1), 0)
        probe = _linear(xt.shape[1], n_classes, gen)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        opt = torch.optim.Adam(probe.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        gamma = math.exp(math.log(s.end_lr / s.lr) / s.epochs)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)
        for _ in range(s.epochs):
            order = torch.randperm(len(xt), generator=gen)
            for start in range(0, len(xt), s.batch_size):
                rows = order[start : start + s.batch_size]
                opt.zero_grad()
                loss = loss_fn(probe(xt[rows]), y[rows])
                if s.l1:
                    loss = loss + s.l1 * probe.weight.abs().sum(-1).mean()
                loss.backward()
                opt.step()
            sched.step()
        return probe.weight.detach().numpy().copy(), probe.bias.detach().numpy().copy()


def _linear(d: int, n: int, gen):
    """``nn.Linear(d, n)`` initialised from ``gen`` (torch's default uniform bounds)."""
    import torch

    layer = torch.nn.Linear(d, n)
    bound = 1 / math.sqrt(d)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=gen)
        layer.bias.uniform_(-bound, bound, generator=gen)
    return layer


@dataclass(frozen=True)
class KProbe:
    latents: list[int]  # the k latents, largest L1 weight first
    f1: float  # test F1 of ``score > 0``


def k_sparse_probe(codes_train, y_train, codes_test, y_test, latents, seed) -> KProbe:
    """A balanced logistic regression on ``latents`` of the codes; its test F1."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(max_iter=500, class_weight="balanced", random_state=seed)
    fit.fit(codes_train[:, latents], y_train)
    predicted = fit.decision_function(codes_test[:, latents]) > 0
    return KProbe(list(map(int, latents)), f1_score(y_test, predicted))


def f1_score(y: np.ndarray, predicted: np.ndarray) -> float:
    """Binary F1 (0 when there is no positive prediction and no positive label, as sklearn)."""
    y, predicted = np.asarray(y, dtype=bool), np.asarray(predicted, dtype=bool)
    tp = int((y & predicted).sum())
    denominator = int(y.sum()) + int(predicted.sum())
    return 2 * tp / denominator if denominator else 0.0


def split_latents(probes: Iterable[KProbe], f1_jump: float) -> list[int]:
    """The latents of the last k (from 1 up) whose F1 beat the best so far by more than
    ``f1_jump`` (SAEBench ``add_feature_splits_to_metrics_df``); ``probes`` (k = 1, 2, ...)
    is read no further than the first k without a jump."""
    best, chosen = -100.0, []
    for probe in probes:
        if probe.f1 > best + f1_jump:
            best, chosen = probe.f1, probe.latents
        else:
            break
    return chosen
