"""Which rows each probe trains and tests on, for every regime: pure functions of the labels
and a seed, so the SAE's latents, the raw activations and the baselines see the same rows.

Each draw uses a generator seeded by (seed, dataset, regime, setting) alone
(:func:`rng_for`), never by call order: a dataset's rows are the same whichever other
datasets or settings run beside it. Rows are positions in the dataset's own rows of a split.

- ``normal``: as many positives as negatives (the smaller class, at most ``max_train / 2``),
  in a seeded order (the hold-out fold is the last rows); the test rows balanced the same way;
- ``scarcity`` n: ``ceil(n / 2)`` positives and the rest negatives from the train rows;
- ``imbalance`` f: ``ceil(f N)`` positives and ``N - ceil(f N)`` negatives, one ``N`` per
  dataset, the largest that the paper's whole grid (0.05 to 0.95) allows, at most
  ``max_train``;
- ``noise`` f: the normal train rows with ``int(f n)`` labels flipped;
- ``ood``: the normal train rows, tested on every row of the dataset's OOD file.

Example:
    >>> rows = normal_rows(y_train, y_test, max_train=1024, seed=42, key="glue_cola")
    >>> rows.train, rows.test
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

IMBALANCE_RANGE = (0.05, 0.95)  # the paper's extreme positive shares (fixes N per dataset)


@dataclass(frozen=True)
class Rows:
    """Train and test rows of one probe and their 0/1 labels (noise already applied)."""

    train: np.ndarray
    y_train: np.ndarray
    test: np.ndarray
    y_test: np.ndarray


def rng_for(seed: int, *parts: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``parts``."""
    tag = zlib.crc32("|".join(parts).encode())
    return np.random.default_rng(np.random.SeedSequence([seed, tag]))


def _draw(y: np.ndarray, n_pos: int, n_neg: int, rng) -> np.ndarray:
    """``n_pos`` positive and ``n_neg`` negative rows without replacement, in a random order."""
    pos = rng.choice(np.flatnonzero(y == 1), size=n_pos, replace=False)
    neg = rng.choice(np.flatnonzero(y == 0), size=n_neg, replace=False)
    return rng.permutation(np.concatenate([pos, neg]))


def balanced(y: np.ndarray, cap: int | None, rng) -> np.ndarray:
    """Equal numbers of each class (the smaller class, at most ``cap // 2``)."""
    n = int(min((y == 1).sum(), (y == 0).sum()))
    if cap is not None:
        n = min(n, cap // 2)
    return _draw(y, n, n, rng)


def normal_rows(y_train, y_test, *, max_train: int, seed: int, key: str) -> Rows:
    """The balanced train and test rows of the normal setting."""
    train = balanced(y_train, max_train, rng_for(seed, key, "normal", "train"))
    test = balanced(y_test, None, rng_for(seed, key, "normal", "test"))
    return Rows(train, y_train[train], test, y_test[test])


def scarcity_rows(y_train, normal: Rows, n: int, *, seed: int, key: str) -> Rows | None:
    """``n`` train rows, half positive (None when the train split has too few)."""
    n_pos = math.ceil(n / 2)
    if n_pos > (y_train == 1).sum() or n - n_pos > (y_train == 0).sum():
        return None
    train = _draw(y_train, n_pos, n - n_pos, rng_for(seed, key, "scarcity", str(n)))
    return Rows(train, y_train[train], normal.test, normal.y_test)


def imbalance_size(y_train, max_train: int) -> int:
    """The largest N for which every positive share of the paper's range can be drawn."""
    pos, neg = int((y_train == 1).sum()), int((y_train == 0).sum())
    low, high = IMBALANCE_RANGE
    n = min(pos + neg, max_train)
    while n > 0 and (math.ceil(high * n) > pos or n - math.ceil(low * n) > neg):
        n -= 1
    return n


def imbalance_rows(y_train, normal: Rows, frac: float, *, max_train, seed, key) -> Rows | None:
    """``N`` train rows with a positive share ``frac`` (None when N is under 4)."""
    n = imbalance_size(y_train, max_train)
    if n < 4:
        return None
    n_pos = math.ceil(frac * n)
    train = _draw(y_train, n_pos, n - n_pos, rng_for(seed, key, "imbalance", f"{frac:.4f}"))
    return Rows(train, y_train[train], normal.test, normal.y_test)


def noise_rows(normal: Rows, frac: float, *, seed: int, key: str) -> Rows:
    """The normal train rows with ``int(frac * n)`` of their labels flipped."""
    y = normal.y_train.copy()
    rng = rng_for(seed, key, "noise", f"{frac:.4f}")
    flip = rng.choice(len(y), size=int(len(y) * frac), replace=False)
    y[flip] = 1 - y[flip]
    return Rows(normal.train, y, normal.test, normal.y_test)


def permuted_rows(normal: Rows, *, seed: int, key: str) -> Rows:
    """The normal rows with the train labels permuted (the label-permutation null)."""
    y = rng_for(seed, key, "permuted").permutation(normal.y_train)
    return Rows(normal.train, y, normal.test, normal.y_test)
