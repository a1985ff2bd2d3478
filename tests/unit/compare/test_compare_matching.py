"""saebench.toolkit.matching beyond cosines/assign: MMCS, matchings exact and approximate,
checked against hand-worked values and brute force over every one-to-one map."""

from __future__ import annotations

import itertools

import pytest
import torch

from saebench.toolkit.matching import (
    CosineRows,
    DenseRows,
    SubRows,
    assign_approx,
    candidate_edges,
    match,
    match_and_max,
    max_both_ways,
    mmcs,
)


def brute_force_best(sim: torch.Tensor) -> float:
    """Largest summed similarity over every one-to-one map of the smaller side."""
    n_r, n_c = sim.shape
    if n_r <= n_c:
        return max(
            sum(float(sim[i, c]) for i, c in enumerate(cols))
            for cols in itertools.permutations(range(n_c), n_r)
        )
    return brute_force_best(sim.T)


def test_mmcs_hand_worked():
    sim = torch.tensor([[1.0, 0.2], [0.5, 0.3], [0.1, 0.4]])
    a_to_b, b_to_a = mmcs(sim)
    assert a_to_b == pytest.approx((1.0 + 0.5 + 0.4) / 3)
    assert b_to_a == pytest.approx((1.0 + 0.4) / 2)


def test_max_both_ways_across_blocks():
    # more rows than one block (1024), so the column maxima merge across blocks
    sim = torch.randn(2500, 7, generator=torch.Generator().manual_seed(0))
    row_max, col_max = max_both_ways(DenseRows(sim))
    assert torch.equal(row_max, sim.max(1).values)
    assert torch.equal(col_max, sim.max(0).values)


@pytest.mark.parametrize("shape", [(5, 5), (4, 6), (6, 4)])
def test_exact_match_is_brute_force_optimum(shape):
    sim = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
    m = match(sim)
    assert m.exact and len(m.rows) == min(shape)
    assert len(set(m.rows.tolist())) == len(set(m.cols.tolist())) == min(shape)
    assert float(m.values.sum()) == pytest.approx(brute_force_best(sim), abs=1e-5)
    assert torch.equal(m.values, sim[m.rows, m.cols])


@pytest.mark.parametrize("shape", [(5, 5), (4, 6), (6, 4)])
def test_approx_with_every_edge_is_exact(shape):
    # with as many candidates as columns no edge is dropped: the sparse solver is exact
    sim = torch.randn(*shape, generator=torch.Generator().manual_seed(7 * sum(shape)))
    m = match(sim, max_exact=0, candidates=max(shape))
    assert not m.exact
    assert torch.equal(m.values, sim[m.rows, m.cols])
    assert float(m.values.sum()) == pytest.approx(brute_force_best(sim), abs=1e-5)


def test_approx_recovers_planted_permutation():
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(600, 48, generator=gen)
    perm = torch.randperm(600, generator=gen)
    b = a[perm] + 0.2 * torch.randn(600, 48, generator=gen)  # b[k] is a noisy a[perm[k]]
    sim = CosineRows(a, b)
    exact, approx = match(sim), match(sim, max_exact=0, candidates=4)
    assert torch.equal(exact.partner_of_rows(600)[perm], torch.arange(600))
    assert torch.equal(approx.partner_of_rows(600), exact.partner_of_rows(600))
    assert approx.mean() == pytest.approx(exact.mean(), abs=1e-6)


def test_approx_fills_leftovers_one_to_one():
    # every row's best column is column 0 and column 0's best row is row 0: one candidate
    # each leaves rows and columns over, which must still be matched one to one
    gen = torch.Generator().manual_seed(2)
    sim = 0.1 * torch.rand(40, 30, generator=gen)
    sim[:, 0] = torch.linspace(0.9, 0.5, 40)
    rows, cols = assign_approx(DenseRows(sim), candidates=1, max_exact=10)
    assert len(rows) == 30 and len(set(rows.tolist())) == 30 and len(set(cols.tolist())) == 30
    best = match(sim)
    total = float(sim[rows, cols].sum())
    assert total <= float(best.values.sum()) + 1e-5
    assert total >= 0.97 * float(best.values.sum())


def test_candidate_edges_hold_row_and_column_tops_once():
    sim = torch.randn(9, 5, generator=torch.Generator().manual_seed(3))
    edges = candidate_edges(DenseRows(sim), 2)
    rows, cols, vals = edges.rows, edges.cols, edges.values
    assert torch.equal(edges.row_max, sim.max(1).values)
    assert torch.equal(edges.col_max, sim.max(0).values)
    edges = set(zip(rows.tolist(), cols.tolist(), strict=True))
    assert len(edges) == len(rows)  # no repeats
    for i in range(9):
        assert {(i, int(j)) for j in sim[i].topk(2).indices} <= edges
    for j in range(5):
        assert {(int(i), j) for i in sim[:, j].topk(2).indices} <= edges
    assert torch.equal(vals, sim[rows, cols])


def test_cosine_rows_signed_and_absolute_and_subrows():
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    b = torch.tensor([[-3.0, 0.0], [1.0, 1.0]])
    signed = CosineRows(a, b).rows(torch.arange(2))
    assert torch.allclose(signed, torch.tensor([[-1.0, 0.5**0.5], [0.0, 0.5**0.5]]))
    assert torch.allclose(CosineRows(a, b, absolute=True).rows(torch.arange(2)), signed.abs())
    sub = SubRows(DenseRows(signed), torch.tensor([1]), torch.tensor([1, 0]))
    assert torch.allclose(sub.rows(torch.tensor([0])), signed[[1]][:, [1, 0]])


def test_matching_fractions_and_partners():
    m = match(torch.tensor([[0.95, 0.1, 0.0], [0.2, 0.6, 0.0]]))
    assert m.partner_of_rows(2).tolist() == [0, 1]
    assert m.fraction_above(0.5) == 1.0 and m.fraction_above(0.9) == 0.5


@pytest.mark.parametrize("max_exact", [0, 100])
def test_match_and_max_gives_the_maxima_either_way(max_exact):
    sim = torch.randn(30, 20, generator=torch.Generator().manual_seed(4))
    matching, row_max, col_max = match_and_max(sim, max_exact=max_exact, candidates=3)
    assert matching.exact == (max_exact == 100)
    assert torch.equal(row_max, sim.max(1).values) and torch.equal(col_max, sim.max(0).values)
