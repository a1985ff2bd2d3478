"""The intervention path: no swap leaves the base, a full neuron swap is the source, DAS at
full rank is the full swap, and every featurizer round-trips."""

from __future__ import annotations

import torch
from ravel_planted import HOOK, D, planted_world, plus_minus_sae

from saebench.evaluators.ravel.featurizers import DasFeaturizer, linear_neurons, target_pca
from saebench.evaluators.ravel.instances import build_instances
from saebench.evaluators.ravel.interventions import (
    first_token_logits,
    intervene,
    prepare_pairs,
)
from saebench.models.interventions import ModelRunner
from saebench.models.prompts import make_batch


def _chunks(split="entity", target="country", batch_size=7):
    world = planted_world()
    runner = ModelRunner(world.model)
    instances = build_instances(world.task, runner, n_pairs=32)
    pairs = instances.select(target=target, split=split)
    return world, runner, pairs, prepare_pairs(runner, HOOK, pairs, batch_size, world.right.meta)


def _clean_logits(runner, prompts):
    batch = make_batch(runner.model, list(prompts))
    return runner.logits_at(batch)[0]


def test_no_swap_leaves_the_base_and_a_full_neuron_swap_gives_the_source():
    world, runner, pairs, chunks = _chunks()
    neurons = linear_neurons(world.right.meta, D)
    none, every = torch.zeros(D, dtype=torch.bool), torch.ones(D, dtype=torch.bool)
    for chunk in chunks:
        base = _clean_logits(runner, [p.base for p in chunk.pairs])
        source = _clean_logits(runner, [p.source for p in chunk.pairs])
        assert torch.allclose(first_token_logits(runner, chunk, neurons, none), base, atol=1e-5)
        assert torch.allclose(first_token_logits(runner, chunk, neurons, every), source, atol=1e-5)
    ok = intervene(runner, chunks, [(neurons, none), (neurons, every)], n_tokens=1)
    cause = torch.tensor([p.kind == "cause" for p in pairs])
    # no swap: the base's answer, so every isolation pair and no cause pair succeeds
    assert ok[0].tolist() == (~cause).tolist()
    # the full swap answers the source's own question: right for cause, wrong for isolation
    assert ok[1].tolist() == cause.tolist()


def test_an_sae_with_its_error_term_and_no_swap_is_the_clean_model():
    world, runner, pairs, chunks = _chunks(target="continent")
    # a lossy dictionary: half of the basis, without the continent's direction
    sae = plus_minus_sae(torch.cat([world.basis[:, :2], world.basis[:, 3:17]], dim=1))
    none = torch.zeros(sae.d_sae, dtype=torch.bool)
    for chunk in chunks:
        base = _clean_logits(runner, [p.base for p in chunk.pairs])
        kept = first_token_logits(runner, chunk, sae, none, keep_error=True)
        assert torch.allclose(kept, base, atol=1e-4)
        spliced = first_token_logits(runner, chunk, sae, none)  # error term dropped
        assert not torch.allclose(spliced, base, atol=1e-2)


def test_das_at_full_rank_is_the_full_swap():
    world, runner, pairs, chunks = _chunks()
    das = DasFeaturizer(world.right.meta, D, D, torch.Generator().manual_seed(1))
    neurons = linear_neurons(world.right.meta, D)
    every = torch.ones(D, dtype=torch.bool)
    with torch.no_grad():
        for chunk in chunks:
            full = first_token_logits(runner, chunk, neurons, every)
            rotated = first_token_logits(runner, chunk, das, das.swap_weights())
            assert torch.allclose(rotated, full, atol=1e-4)


def test_das_swaps_only_its_subspace():
    meta = planted_world().right.meta
    das = DasFeaturizer(meta, 6, 2, torch.Generator().manual_seed(0))
    r = das.rotation.detach()
    assert torch.allclose(r.T @ r, torch.eye(2), atol=1e-5)
    base, source = torch.randn(3, 6), torch.randn(3, 6)
    w = das.swap_weights()
    mixed = torch.where(w, das.encode(source), das.encode(base))
    expected = base + (source - base) @ r @ r.T  # h_b + R (R^T h_s - R^T h_b)
    assert torch.allclose(das.decode(mixed), expected, atol=1e-5)


def test_pca_is_an_exact_orthonormal_basis_largest_variance_first():
    gen = torch.Generator().manual_seed(0)
    acts = torch.randn(50, 5, generator=gen) * torch.tensor([5.0, 1.0, 3.0, 0.5, 2.0])
    pca = target_pca(planted_world().right.meta, acts)
    assert torch.allclose(pca.W_enc.T @ pca.W_enc, torch.eye(5), atol=1e-5)
    assert torch.allclose(pca.decode(pca.encode(acts)), acts, atol=1e-4)
    codes = pca.encode(acts)
    variances = codes.var(0)
    assert (variances[:-1] >= variances[1:] - 1e-4).all()
    assert torch.allclose(codes.mean(0), torch.zeros(5), atol=1e-4)
    # the top component lies on the widest input axis
    assert pca.W_enc[:, 0].abs().argmax().item() == 0
