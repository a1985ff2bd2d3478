"""Feature families on a planted firing matrix whose hierarchy is known."""

import numpy as np

from saebench.evaluators.retrieval.families import cooccurrence_weights, feature_families


def planted_hierarchy(n=600, seed=0):
    """Latent 0 fires on half the texts; latents 1-4 fire only with it (one each, apart);
    latent 5 fires alone, latents 6-9 only with it; latent 10 never fires."""
    rng = np.random.default_rng(seed)
    active = np.zeros((n, 11), dtype=bool)
    first = rng.random(n) < 0.5
    active[first, 0] = True
    active[first, 1 + rng.integers(0, 4, size=n)[first]] = True
    second = ~first & (rng.random(n) < 0.6)
    active[second, 5] = True
    active[second, 6 + rng.integers(0, 4, size=n)[second]] = True
    return active


def test_weights_by_hand():
    active = np.array([[1, 1], [1, 0], [1, 0]], dtype=bool)
    w = cooccurrence_weights(active, threshold=0.1)
    # C = [[3, 1], [1, 1]]: W01 = 1/4, W10 = 1/2; symmetrised by the max, exponentiated
    assert np.allclose(w, [[0, np.exp(0.5)], [np.exp(0.5), 0]])
    assert np.all(cooccurrence_weights(active, threshold=0.6) == 0)


def test_planted_families_are_found():
    found = feature_families(planted_hierarchy())
    families = {f["parent"]: sorted(f["children"]) for f in found["families"]}
    assert families == {0: [1, 2, 3, 4], 5: [6, 7, 8, 9]}
    assert found["n_families"] == 2 and found["max_size"] == 5 and found["mean_size"] == 5
    assert found["alive_fraction_in_family"] == 1.0  # latent 10 is dead: not counted


def test_a_parent_needs_more_children_than_the_minimum():
    found = feature_families(planted_hierarchy(), min_children=4)
    assert found["n_families"] == 0


def test_no_family_without_two_alive_latents():
    assert feature_families(np.zeros((5, 3), dtype=bool))["n_families"] == 0


def test_families_keep_their_tree_edges_and_plot(tmp_path):
    from saebench.evaluators.retrieval.families import plot_families

    found = feature_families(planted_hierarchy())
    edges = {f["parent"]: sorted(map(tuple, f["edges"])) for f in found["families"]}
    assert edges[0] == [(0, 1), (0, 2), (0, 3), (0, 4)]
    path = plot_families({"families": found}, tmp_path / "families.png")
    assert path.stat().st_size > 1000
