"""SAEBench's SCR/TPP probe (``sparse_probing/probe_training.train_probe_gpu``): a linear
layer with bias on the pooled activations, AdamW, binary cross-entropy plus
``l1 * sum |w|``, mini-batches of 16 (SAEBench: "DO NOT CHANGE", the batch size sets how
much of the spurious correlation the biased probe learns), 20 epochs, and the epoch of best
*test* accuracy kept (a known flaw: the probe is selected on the data it is scored on;
``pick="last"`` keeps the last epoch instead). Seeded; one torch thread.

Example:
    >>> w, b, acc = train_probe(x_train, y_train, x_test, y_test, ProbeSettings(), seed=42)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProbeSettings:
    epochs: int = 20
    lr: float = 1e-3
    batch_size: int = 16
    l1: float = 1e-3
    patience: int = 20
    pick: str = "best_test"


def train_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    settings: ProbeSettings,
    seed: int,
) -> tuple[np.ndarray, float, float]:
    """``(w, b, test accuracy)`` of the kept epoch; ``w`` float64 ``[d]``."""
    import copy

    import torch

    from saebench.toolkit.determinism import fixed_threads

    with fixed_threads():
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)  # the layer's initialisation
        probe = torch.nn.Linear(x_train.shape[1], 1)
        xt, yt = torch.from_numpy(np.asarray(x_train, np.float32)), torch.tensor(y_train).float()
        xv, yv = torch.from_numpy(np.asarray(x_test, np.float32)), torch.tensor(y_test).float()
        optimiser = torch.optim.AdamW(probe.parameters(), lr=settings.lr)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        best, best_acc, waited = None, 0.0, 0
        for _ in range(settings.epochs):
            order = torch.randperm(len(xt), generator=generator)
            for start in range(0, len(xt), settings.batch_size):
                rows = order[start : start + settings.batch_size]
                loss = loss_fn(probe(xt[rows]).squeeze(-1), yt[rows])
                loss = loss + settings.l1 * probe.weight.abs().sum()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            with torch.no_grad():
                acc = float(((probe(xv).squeeze(-1) > 0).float() == yv).float().mean())
            if acc > best_acc or settings.pick == "last":
                best, best_acc, waited = copy.deepcopy(probe), acc, 0
            else:
                waited += 1
            if waited >= settings.patience:
                break
        kept = best if best is not None else probe
        w = kept.weight.detach().double().numpy()[0]
        b = float(kept.bias.detach().double()[0])
    return w, b, best_acc
