"""Precision, recall and F1 of latents, occlusion and over-splitting, on hand-worked cases."""

import torch

from saebench.evaluators.supervised.interpretability import (
    best_latents,
    latent_scores,
    summarise,
    value_masks,
)


def test_precision_recall_f1_by_hand():
    active = torch.tensor([[1, 0], [1, 1], [0, 1], [0, 0]]).bool()
    values = torch.tensor([[1], [1], [0], [0]]).bool()
    s = latent_scores(active, values)
    # latent 0 fires exactly on the value; latent 1 on one of two value prompts and one other
    assert s.precision[:, 0].tolist() == [1.0, 0.5]
    assert s.recall[:, 0].tolist() == [1.0, 0.5]
    assert s.f1[:, 0].tolist() == [1.0, 0.5]
    assert best_latents(s, 0, 2).tolist() == [0, 1]
    assert best_latents(s, 0, 2, among=torch.tensor([False, True])).tolist() == [1]


def test_value_masks_and_summary():
    rows = [{"a": "x"}, {"a": "x"}, {"a": "y"}, {"a": "y"}]
    names, mask = value_masks(rows, ["a"])
    assert names == [("a", "x"), ("a", "y")]
    active = torch.tensor([[1, 0], [1, 0], [0, 0], [0, 1]]).bool()  # y half covered
    out = summarise(latent_scores(active, mask), names, threshold=0.7)
    assert out["best_f1"] == {"a=x": 1.0, "a=y": round(2 / 3, 4)}
    assert out["fraction_values_covered"] == 0.5
    assert abs(out["mean_best_f1"] - (1 + 2 / 3) / 2) < 1e-12


def test_occlusion_a_weak_value_whose_best_latent_belongs_to_a_stronger_attribute():
    # name in {A, B} x order in {1, 2}; latent 0 = "name A", latent 1 = "name B". Each
    # order value's best latent (F1 0.5) is a name latent (F1 1 for its name)
    rows = [
        {"name": "A", "order": "1"},
        {"name": "A", "order": "2"},
        {"name": "B", "order": "1"},
        {"name": "B", "order": "2"},
    ]
    names, mask = value_masks(rows, ["name", "order"])
    active = torch.tensor([[1, 0], [1, 0], [0, 1], [0, 1]]).bool()
    scores = latent_scores(active, mask)
    assert scores.f1[:, names.index(("order", "1"))].tolist() == [0.5, 0.5]
    strong = summarise(scores, names, {"name": 5.0, "order": 1.0}, threshold=0.7)
    assert strong["occluded"] == ["order=1", "order=2"] and strong["occluded_values"] == 2
    # the same latents under a stronger order attribute: nothing is occluded
    weak = summarise(scores, names, {"name": 1.0, "order": 5.0}, threshold=0.7)
    assert weak["occluded"] == []
    assert summarise(scores, names, None)["occluded"] == []


def test_oversplit_a_value_covered_only_by_several_small_latents():
    rows = [{"a": "x"}] * 4 + [{"a": "y"}] * 4
    names, mask = value_masks(rows, ["a"])
    # latents 0..3 each fire on one x prompt (F1 0.4 each); together they are x exactly
    active = torch.zeros(8, 5, dtype=torch.bool)
    for i in range(4):
        active[i, i] = True
    active[4:, 4] = True  # latent 4 is y exactly
    out = summarise(latent_scores(active, mask), names, threshold=0.7)
    assert out["oversplit"] == ["a=x"]
    assert out["fraction_values_covered"] == 0.5
