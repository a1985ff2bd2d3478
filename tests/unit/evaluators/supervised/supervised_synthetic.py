"""Synthetic activations built from known attribute vectors, shared by the tests here."""

from __future__ import annotations

import itertools

import torch

VALUES = {"colour": ["red", "green", "blue"], "shape": ["disc", "cube"], "size": ["s", "m", "l"]}


def labels(repeat: int = 2) -> list[dict[str, str]]:
    """Every combination of the values, ``repeat`` times (a balanced design)."""
    names = sorted(VALUES)
    rows = [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(VALUES[n] for n in names))
    ]
    return rows * repeat


def centred_vectors(d: int = 6, seed: int = 0) -> dict[str, dict[str, torch.Tensor]]:
    """One vector per value, summing to zero over each attribute's values."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for attribute, values in VALUES.items():
        raw = torch.randn(len(values), d, generator=gen, dtype=torch.float64)
        raw -= raw.mean(0)
        out[attribute] = dict(zip(values, raw, strict=True))
    return out


def orthonormal_vectors(d: int = 12, seed: int = 0) -> dict[str, dict[str, torch.Tensor]]:
    """One orthonormal direction per (attribute, value) (8 in all, ``d >= 8``)."""
    gen = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
    out, column = {}, 0
    for attribute, values in VALUES.items():
        out[attribute] = {}
        for v in values:
            out[attribute][v] = basis[:, column]
            column += 1
    return out


def activations(rows, vectors, mean: torch.Tensor) -> torch.Tensor:
    """``mean + sum_a vector(a, value_a(p))`` per row."""
    return torch.stack([mean + sum(vectors[a][p[a]] for a in vectors) for p in rows])
