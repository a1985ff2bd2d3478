"""Latent selection on the planted world: the learned mask finds the country latents of the
right dictionary and cannot separate country from continent in the wrong one; DAS finds the
country direction; the L1 probe keeps the latents that carry the label."""

from __future__ import annotations

import pytest
import torch
from ravel_planted import HOOK, planted_world

from saebench.evaluators.ravel.instances import build_instances
from saebench.evaluators.ravel.methods import MethodResult, RunSettings, run_das, run_mdbm
from saebench.evaluators.ravel.prepared import build_hook_data
from saebench.evaluators.ravel.selection import (
    DasSchedule,
    MaskSchedule,
    chunk_order,
    probe_select,
    temperatures,
    train_das,
    train_mask,
)
from saebench.models.interventions import ModelRunner

SETTINGS = RunSettings(
    MaskSchedule(steps=80, lr=0.1), DasSchedule(max_steps=120, lr=0.05), das_dims=(1, 2)
)


def _mdbm(runner, sae, hook_data):
    result = MethodResult()
    run_mdbm(runner, lambda t: sae, hook_data, SETTINGS, "sae", seed=0, result=result)
    return result


@pytest.fixture(scope="module")
def data():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before the autouse one-thread fixture
    world = planted_world()
    runner = ModelRunner(world.model)
    instances = build_instances(world.task, runner, n_pairs=32)
    hook_data = build_hook_data(
        runner, instances, HOOK, targets=["country"], batch_size=16, seed=0, meta=world.right.meta
    )
    torch.set_num_threads(before)
    return world, runner, hook_data


def _scores(result, split="entity"):
    return result.scores["country"][split]


def test_the_mask_over_the_right_dictionary_moves_country_alone(data):
    world, runner, hook_data = data
    result = _mdbm(runner, world.right, hook_data)
    for split in ("entity", "context"):
        assert _scores(result, split)["cause"] >= 0.9
        assert _scores(result, split)["isolation"] >= 0.9
    mask = train_mask(
        runner, world.right, hook_data.targets["country"].train, SETTINGS.schedule, seed="0"
    )
    # latents 1 and 33 are +u and -u; the continent's (2, 34) must stay with the base
    assert mask[1] and mask[33]
    assert not mask[2] and not mask[34]


def test_the_mask_over_the_wrong_dictionary_cannot_disentangle(data):
    world, runner, hook_data = data
    right = _mdbm(runner, world.right, hook_data)
    wrong = _mdbm(runner, world.wrong, hook_data)
    assert _scores(wrong)["disentanglement"] <= 0.8
    assert _scores(right)["disentanglement"] - _scores(wrong)["disentanglement"] >= 0.15


def test_mdas_learns_the_country_direction_and_picks_its_dimension_on_val(data):
    world, runner, hook_data = data
    result = MethodResult()
    run_das(runner, world.right.meta, 32, hook_data, SETTINGS, seed=0, result=result, method="mdas")
    assert _scores(result)["cause"] >= 0.9 and _scores(result)["isolation"] >= 0.9
    info = result.runs[0].info["country"]
    assert info["chosen_on"] == "val" and set(info["dims"]) == {"1", "2"}
    assert info["kinds"] == ["cause", "isolation"]
    best = max(info["dims"].values(), key=lambda d: d["val_disentanglement"])
    assert info["dims"][str(info["dim"])]["val_disentanglement"] == best["val_disentanglement"]
    assert result.selected["country"] == [info["dim"]]


def test_das_learns_from_cause_pairs_only(data):
    """RAVEL's DAS: isolation pairs give it no gradient (MDAS learns from both)."""
    from saebench.evaluators.ravel.featurizers import DasFeaturizer

    world, runner, hook_data = data
    chunks = hook_data.targets["country"].train
    isolation_only = [_only(c, "isolation") for c in chunks if _only(c, "isolation")]
    das = DasFeaturizer(world.right.meta, 32, 1, torch.Generator().manual_seed(0))
    before = das.rotation.detach().clone()
    info = train_das(runner, das, isolation_only, DasSchedule(max_steps=5), "s", kinds=("cause",))
    assert torch.equal(das.rotation, before) and info["steps"] == 5
    mdas = DasFeaturizer(world.right.meta, 32, 1, torch.Generator().manual_seed(0))
    train_das(runner, mdas, isolation_only, DasSchedule(max_steps=5), "s")
    assert not torch.equal(mdas.rotation, before)


def test_das_training_stops_at_convergence(data):
    from saebench.evaluators.ravel.featurizers import DasFeaturizer

    world, runner, hook_data = data
    das = DasFeaturizer(world.right.meta, 32, 1, torch.Generator().manual_seed(0))
    chunks = hook_data.targets["country"].train
    info = train_das(runner, das, chunks, DasSchedule(max_steps=2000, lr=0.05), "s")
    assert info["converged"] and info["steps"] < 2000 and info["steps"] % len(chunks) == 0


def _only(chunk, kind):
    """The chunk's pairs of one kind, as a chunk (None without any)."""
    from saebench.evaluators.ravel.interventions import prepare_pairs

    pairs = [p for p in chunk.pairs if p.kind == kind]
    if not pairs:
        return None
    world = planted_world()
    return prepare_pairs(ModelRunner(world.model), HOOK, pairs, 64, world.right.meta)[0]


def test_training_is_reproducible_and_seeded_by_name(data):
    world, runner, hook_data = data
    chunks = hook_data.targets["country"].train
    short = MaskSchedule(steps=10, lr=0.1)
    a = train_mask(runner, world.wrong, chunks, short, seed="a")
    assert torch.equal(a, train_mask(runner, world.wrong, chunks, short, seed="a"))
    assert chunk_order(5, 12, "a") == chunk_order(5, 12, "a")
    assert chunk_order(5, 12, "a") != chunk_order(5, 12, "b")
    assert sorted(chunk_order(5, 10, "a")[:5]) == [0, 1, 2, 3, 4]  # each epoch sees all


def test_temperature_falls_log_linearly_from_start_to_end():
    t = temperatures(MaskSchedule(steps=3, temperature_start=1.0, temperature_end=0.01))
    assert torch.allclose(t, torch.tensor([1.0, 0.1, 0.01]))


def test_the_probe_keeps_the_latents_that_carry_the_label():
    gen = torch.Generator().manual_seed(0)
    labels = ["a", "b", "c"] * 40
    codes = torch.rand(len(labels), 12, generator=gen) * 0.1
    for row, label in enumerate(labels):  # latent 3 fires for "a", latent 7 for "b"
        codes[row, 3] += 2.0 * (label == "a")
        codes[row, 7] += 2.0 * (label == "b")
    chosen = probe_select(codes, labels, c=0.05, max_latents=10, seed=0)
    assert chosen[3] and chosen[7]
    assert int(chosen.sum()) <= 4
    capped = probe_select(codes, labels, c=100.0, max_latents=2, seed=0)
    assert int(capped.sum()) == 2 and capped[3] and capped[7]
    assert not probe_select(codes, ["a"] * len(labels), c=1.0, max_latents=5, seed=0).any()


def test_das_training_is_reproducible(data):
    """Two trainings from the same seed give the same rotation (PyTorch's orthogonal
    parametrisation of a non-square matrix did not: its gradient varied run to run)."""
    from saebench.evaluators.ravel.featurizers import DasFeaturizer

    world, runner, hook_data = data
    chunks = hook_data.targets["country"].train
    rotations = []
    for _ in range(2):
        das = DasFeaturizer(world.right.meta, 32, 2, torch.Generator().manual_seed(5))
        train_das(runner, das, chunks, DasSchedule(max_steps=6, lr=0.05), "s")
        rotations.append(das.rotation.detach())
    assert torch.equal(*rotations)
