"""Supervised dictionaries recover planted attribute vectors (mean differences, least
squares), coupled sets capture interactions, and edits swap exactly one value."""

import random

import torch
from supervised_synthetic import activations, centred_vectors, labels

from saebench.evaluators.supervised.dictionaries import fit_dictionary

SETS = [("colour",), ("shape",), ("size",)]


def _data(repeat=2):
    rows, vectors = labels(repeat), centred_vectors()
    mean = torch.arange(6, dtype=torch.float64)
    return rows, vectors, mean, activations(rows, vectors, mean)


def test_mean_codes_recover_the_planted_vectors_exactly():
    rows, vectors, mean, acts = _data()
    d = fit_dictionary(acts, rows, SETS, "mean")
    assert torch.allclose(d.mean, mean, atol=1e-12)
    for attribute, table in vectors.items():
        for value, vector in table.items():
            assert torch.allclose(d.codes[attribute][value], vector, atol=1e-12)
    assert torch.allclose(d.reconstruct(rows), acts, atol=1e-12)


def test_least_squares_is_exact_where_mean_differences_are_not():
    rows, vectors, mean, acts = _data(repeat=3)
    random.Random(0).shuffle(rows)
    rows = rows[: len(rows) - 17]  # an unbalanced design: conditional means get mixed up
    acts = activations(rows, vectors, mean)
    ls = fit_dictionary(acts, rows, SETS, "least_squares")
    md = fit_dictionary(acts, rows, SETS, "mean")
    assert torch.allclose(ls.reconstruct(rows), acts, atol=1e-9)
    assert not torch.allclose(md.reconstruct(rows), acts, atol=1e-3)
    # within an attribute, code differences are the planted differences
    for attribute, table in vectors.items():
        first = next(iter(table))
        for value, vector in table.items():
            got = ls.codes[attribute][value] - ls.codes[attribute][first]
            assert torch.allclose(got, vector - table[first], atol=1e-9)


def test_a_coupled_set_captures_an_interaction_the_independent_sets_miss():
    rows, vectors, mean, acts = _data()
    bump = torch.full((6,), 2.0, dtype=torch.float64)
    acts = acts + torch.stack(
        [bump if (p["colour"], p["shape"]) == ("red", "cube") else 0 * bump for p in rows]
    )
    coupled = fit_dictionary(acts, rows, [("colour", "shape"), ("size",)])
    independent = fit_dictionary(acts, rows, SETS)
    assert torch.allclose(coupled.reconstruct(rows), acts, atol=1e-12)
    assert not torch.allclose(independent.reconstruct(rows), acts, atol=1e-3)
    assert "red|cube" in coupled.codes["colour+shape"]


def test_the_supervised_edit_turns_one_activation_into_another():
    rows, _, _, acts = _data()
    d = fit_dictionary(acts, rows, SETS)
    source = [dict(p, colour="blue" if p["colour"] != "blue" else "red") for p in rows]
    target = torch.stack([acts[rows.index(s)] for s in source])
    assert torch.allclose(d.edit(acts, rows, source), target, atol=1e-12)


def test_removed_weight_by_hand():
    # codes u(a)=(1,0), u(b)=(0,1), mean 0: r = (1,1); taking out u(a) removes 1/2
    rows = [{"x": "a", "y": "c"}, {"x": "b", "y": "d"}]
    acts = torch.tensor([[1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    d = fit_dictionary(acts, rows, [("x",), ("y",)])
    d.codes = {
        "x": {"a": torch.tensor([1.0, 0.0]).double(), "b": torch.zeros(2).double()},
        "y": {"c": torch.tensor([0.0, 1.0]).double(), "d": torch.zeros(2).double()},
    }
    d.mean = torch.zeros(2, dtype=torch.float64)
    removed = d.removed_weight(rows[:1], [{"x": "b", "y": "c"}])
    assert torch.allclose(removed, torch.tensor([0.5], dtype=torch.float64))
