"""Off-diagonal |cos| statistics of a decoder: hand-worked values, blockwise = dense, nulls."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from saebench.evaluators.decoder_structure.geometry import (
    approx_max_abs_cos,
    dense_offdiagonal_stats,
    expected_abs_cos,
    offdiagonal_stats,
    random_unit_rows,
)


def test_hand_worked_tiny_decoder():
    # rows e1, -3 e2 and 2 (e1 + e2): |cos| is 0 for (1, 2) and 1/sqrt2 for the others
    w = torch.tensor([[1.0, 0.0, 0.0], [0.0, -3.0, 0.0], [2.0, 2.0, 0.0]])
    stats = offdiagonal_stats(w)
    r = 1 / math.sqrt(2)
    assert stats["max_abs_cos"] == pytest.approx(r, abs=1e-6)
    assert stats["mean_abs_cos"] == pytest.approx(4 * r / 6, abs=1e-6)  # 6 ordered pairs
    assert stats["mean_max_abs_cos"] == pytest.approx(r, abs=1e-6)


def test_orthogonal_rows_and_a_zero_row_score_zero():
    w = torch.cat([torch.eye(4), torch.zeros(1, 4)])
    assert offdiagonal_stats(w) == {
        "max_abs_cos": 0.0,
        "mean_abs_cos": 0.0,
        "mean_max_abs_cos": 0.0,
    }


@pytest.mark.parametrize("block_rows", [1, 4, 7, 100])
def test_blockwise_equals_dense(block_rows):
    w = torch.randn(37, 5, generator=torch.Generator().manual_seed(3))
    blocked, dense = offdiagonal_stats(w, block_rows=block_rows), dense_offdiagonal_stats(w)
    for name in dense:
        assert blocked[name] == pytest.approx(dense[name], abs=1e-6)


def test_closed_form_mean_abs_cos():
    assert expected_abs_cos(2) == pytest.approx(2 / math.pi)  # E|cos theta|, theta uniform
    assert expected_abs_cos(3) == pytest.approx(0.5)  # cos is uniform on [-1, 1] in 3-d
    rows = random_unit_rows(400, 16, seed=0)
    empirical = offdiagonal_stats(rows)["mean_abs_cos"]
    assert empirical == pytest.approx(expected_abs_cos(16), rel=0.03)


def test_approx_max_matches_a_random_dictionary():
    rows = random_unit_rows(300, 64, seed=1)
    empirical = offdiagonal_stats(rows)["max_abs_cos"]
    assert abs(empirical - approx_max_abs_cos(300, 64)) < 0.08
    gram = np.abs(rows.numpy() @ rows.numpy().T)
    np.fill_diagonal(gram, 0)
    assert empirical == pytest.approx(gram.max(), abs=1e-6)
