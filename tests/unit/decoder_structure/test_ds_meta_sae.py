"""The meta-SAE: variance explained is 1 for an exact model, about 1 on a planted decoder
whose rows combine a few atoms, and much lower on random rows."""

from __future__ import annotations

import pytest
import torch

from saebench.evaluators.decoder_structure.geometry import random_unit_rows, unit_rows
from saebench.evaluators.decoder_structure.meta_sae import (
    MetaSae,
    fraction_variance_explained,
    meta_sae_fve,
    meta_width,
)

D, ATOMS = 32, 8


def planted_rows(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit rows, each a positive combination of 2 of 8 orthonormal atoms."""
    g = torch.Generator().manual_seed(seed)
    atoms = torch.linalg.qr(torch.randn(D, ATOMS, generator=g))[0].T  # [8, 32] orthonormal
    coeffs = torch.zeros(n, ATOMS)
    for i in range(n):
        pick = torch.randperm(ATOMS, generator=g)[:2]
        coeffs[i, pick] = 0.2 + torch.rand(2, generator=g)
    return unit_rows(coeffs @ atoms), atoms


def test_exact_meta_sae_explains_everything():
    rows, atoms = planted_rows()
    model = MetaSae(D, ATOMS, k=2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # encoder = decoder = the atoms: codes are the true coefficients
        model.W_dec.copy_(atoms)
        model.W_enc.copy_(atoms.T)
    fve, mse = fraction_variance_explained(model, rows, eval_batch_size=64)
    assert fve == pytest.approx(1.0, abs=1e-5)
    assert mse == pytest.approx(0.0, abs=1e-9)


def test_trained_meta_sae_finds_planted_atoms_but_not_random_rows():
    kwargs = dict(width=ATOMS, k=2, steps=150, batch_size=64, lr=1e-2, eval_batch_size=256)
    planted, _ = planted_rows()
    random = random_unit_rows(256, D, seed=5)
    fve_planted, _ = meta_sae_fve(planted, seed=1, **kwargs)
    fve_random, _ = meta_sae_fve(random, seed=1, **kwargs)
    assert fve_planted > 0.95
    assert fve_random < 0.5


def test_same_seed_same_score():
    rows, _ = planted_rows(64)
    kwargs = dict(width=8, k=2, steps=20, batch_size=32, lr=1e-3, eval_batch_size=64)
    assert meta_sae_fve(rows, seed=3, **kwargs) == meta_sae_fve(rows, seed=3, **kwargs)


def test_meta_width_is_saebench_s():
    assert meta_width(16384, 0.25, 4) == 4096
    assert meta_width(10, 0.25, 4) == 4  # never below k
    assert meta_width(513, 0.25, 4) == 129
