"""Edits on synthetic activations: a dictionary holding the planted attribute vectors edits
exactly (F1 1, edit accuracy 1, aware and agnostic), a random dictionary does not; latent
weights and removed weight by hand."""

import torch
from supervised_synthetic import VALUES, activations, labels, orthonormal_vectors

from saebench.evaluators.supervised import control
from saebench.evaluators.supervised.dictionaries import fit_dictionary
from saebench.evaluators.supervised.interpretability import latent_scores, summarise, value_masks
from saebench.sae import SaeMetadata, build_sae
from saebench.toolkit.references import random_dictionary

D = 12
ATTRIBUTES = sorted(VALUES)


def planted_sae(vectors):
    """ReLU SAE whose latents are the planted directions: code 0.5 when present."""
    E = torch.stack([vectors[a][v] for a in VALUES for v in VALUES[a]]).float()  # [8, D]
    tensors = {
        "W_enc": E.T.contiguous(),
        "b_enc": torch.full((len(E),), -0.5),
        "W_dec": 2 * E,
        "b_dec": torch.zeros(D),
    }
    meta = SaeMetadata(architecture="relu", d_in=D, d_sae=len(E), hook_name="synthetic")
    return build_sae(meta, tensors, where="test")


def _setting():
    vectors = orthonormal_vectors(D)
    rows = labels(2)
    acts = activations(rows, vectors, torch.zeros(D, dtype=torch.float64)).float()
    sources = [
        dict(p, colour=VALUES["colour"][(VALUES["colour"].index(p["colour"]) + 1) % 3])
        for p in rows
    ]
    source_acts = activations(sources, vectors, torch.zeros(D, dtype=torch.float64)).float()
    readout = torch.stack([vectors["colour"][v] for v in VALUES["colour"]]).T.float()  # [D, 3]
    names, masks = value_masks(rows, ATTRIBUTES)
    index = {n: i for i, n in enumerate(names)}
    changes = [
        [(index["colour", o["colour"]], index["colour", n["colour"]])]
        for o, n in zip(rows, sources, strict=True)
    ]
    return vectors, rows, acts, sources, source_acts, readout, names, masks, changes


def _accuracy(edited, source_acts, readout):
    return control.accuracy((edited @ readout).argmax(-1), (source_acts @ readout).argmax(-1))


def test_the_planted_dictionary_scores_f1_one_and_edits_exactly():
    vectors, rows, acts, _, source_acts, readout, names, masks, changes = _setting()
    sae = planted_sae(vectors)
    codes, source_codes = sae.encode(acts), sae.encode(source_acts)
    scores = latent_scores(codes > 0, masks)
    assert summarise(scores, names)["mean_best_f1"] == 1.0
    aware = control.aware_edits(sae, acts, codes, source_codes, changes, scores, [1, 2])
    edited, removed = aware[1]
    assert torch.allclose(edited, source_acts, atol=1e-6)
    assert _accuracy(edited, source_acts, readout) == 1.0
    # three equal latents carry the reconstruction: taking out one removes a third
    assert torch.allclose(removed, torch.full_like(removed, 1 / 3), atol=1e-6)
    order = control.greedy_order(sae, acts, source_acts, codes, source_codes, 4)
    assert (order[:, 2:] == -1).all()  # two latents reach the counterfactual, then stop
    agnostic = control.agnostic_edits(sae, acts, codes, source_codes, order, [2])
    assert torch.allclose(agnostic[2][0], source_acts, atol=1e-6)
    assert torch.allclose(agnostic[2][1], torch.full_like(removed, 1 / 3), atol=1e-6)


def test_the_supervised_edit_on_the_same_data_is_exact():
    vectors, rows, acts, sources, source_acts, readout, *_ = _setting()
    d = fit_dictionary(acts, rows, [(a,) for a in ATTRIBUTES])
    edited = d.edit(acts, rows, sources).float()
    assert _accuracy(edited, source_acts, readout) == 1.0


def test_a_random_dictionary_does_not():
    _, rows, acts, _, source_acts, readout, names, masks, changes = _setting()
    sae = random_dictionary(acts, d_sae=16, k=2, seed=1, meta={"hook_name": "synthetic"})
    codes, source_codes = sae.encode(acts), sae.encode(source_acts)
    scores = latent_scores(codes > 0, masks)
    assert summarise(scores, names)["mean_best_f1"] < 0.9
    edited, _ = control.aware_edits(sae, acts, codes, source_codes, changes, scores, [1])[1]
    assert _accuracy(edited, source_acts, readout) < 1.0


def test_latent_weights_sum_to_one_by_hand():
    meta = SaeMetadata(architecture="relu", d_in=2, d_sae=2, hook_name="h")
    W = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    sae = build_sae(
        meta,
        {"W_enc": W.T.contiguous(), "b_enc": torch.zeros(2), "W_dec": W, "b_dec": torch.ones(2)},
        where="t",
    )
    # r = 1*(1,0) + 1*(1,1) = (2,1); w = (2, 3) / 5
    w = control.latent_weights(sae, torch.tensor([[1.0, 1.0]]))
    assert torch.allclose(w, torch.tensor([[0.4, 0.6]], dtype=torch.float64))
    assert torch.allclose(control.row_scale(sae, torch.zeros(1, 2)), torch.ones(1))


def test_the_edit_size_is_chosen_on_the_other_half_of_the_pairs():
    """Issue 17 part 7: the best of several sizes, chosen on the pairs it is scored on, reports
    the maximum of noisy accuracies. Here every size hits half the pairs by chance; choosing
    on the same pairs reports 0.5, choosing on the other half reports what a size chosen in
    advance gets on new pairs: 0."""
    import numpy as np

    from saebench.evaluators.supervised.scoring import best_size, cross_fitted

    hits = {
        1: np.array([1.0, 1, 0, 0]),
        2: np.array([0.0, 0, 1, 1]),
        4: np.array([1.0, 0, 1, 0]),
    }
    folds = np.array([0, 0, 1, 1])
    on_the_same_pairs = hits[best_size(hits, np.ones(4, dtype=bool))].mean()
    assert on_the_same_pairs == 0.5
    held_out, chosen = cross_fitted(hits, folds)
    assert chosen == {0: 2, 1: 1}  # fold 0 is scored at the size fold 1 liked best
    assert held_out.tolist() == [0.0, 0.0, 0.0, 0.0]
    # a size that is truly better wins on both halves and keeps its accuracy
    better = {1: np.array([0.0, 1, 0, 0]), 8: np.array([1.0, 1, 1, 0])}
    held_out, chosen = cross_fitted(better, folds)
    assert chosen == {0: 8, 1: 8} and held_out.mean() == 0.75
