"""RAVEL's neuron and PCA references are protocol SAEs of saebench.toolkit.references; they
compute exactly what RAVEL's own featurizers computed before (same bits, so the same
scores), at the SAE's input hook."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from saebench.evaluators.ravel.featurizers import linear_neurons, split_neurons, target_pca
from saebench.sae import Sae

D = 24
META = SimpleNamespace(hook_name="blocks.0.attn.hook_z", output_hook="x", hook_head_index=2)


def _data(n: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    acts = torch.randn(n, D, generator=gen) @ torch.randn(D, D, generator=gen) + 3
    base, source = torch.randn(2, 50, D, generator=gen) * 4
    return acts, base, source, torch.rand(50, 2 * D, generator=gen)


def _mix(f, base, source, w):
    return f.encode(source) * w[:, : f.d_sae] + f.encode(base) * (1 - w[:, : f.d_sae])


def test_the_references_sit_at_the_sae_input_hook_as_protocol_saes():
    acts, *_ = _data(40)
    for ref in (split_neurons(META, D), linear_neurons(META, D), target_pca(META, acts)):
        assert isinstance(ref, Sae)
        assert (ref.meta.hook_name, ref.meta.hook_head_index) == ("blocks.0.attn.hook_z", 2)
        assert ref.meta.output_hook == ref.meta.hook_name  # read and write the input hook
    assert [f.d_sae for f in (split_neurons(META, D), linear_neurons(META, D))] == [2 * D, D]


def test_the_neuron_references_are_bit_for_bit_the_old_formulas():
    _, base, source, w = _data(10)
    split, linear = split_neurons(META, D), linear_neurons(META, D)
    assert torch.equal(split.encode(base), torch.cat([base.relu(), (-base).relu()], dim=-1))
    mixed = _mix(split, base, source, w)
    assert torch.equal(split.decode(mixed, base), mixed[:, :D] - mixed[:, D:])
    assert torch.equal(linear.encode(base), base)
    mixed = _mix(linear, base, source, w)
    assert torch.equal(linear.decode(mixed, base), mixed)


def test_pca_is_bit_for_bit_the_old_featurizer_up_to_each_components_sign():
    for n in (12, 400):  # fewer prompts than dimensions, and more
        acts, base, source, w = _data(n, seed=n)
        # the old PcaFeaturizer, written out
        data = acts.double()
        mean = data.mean(0)
        values, vectors = torch.linalg.eigh((data - mean).T @ (data - mean) / (n - 1))
        basis = vectors[:, values.argsort(descending=True)].float()
        old_codes = (base - mean.float()) @ basis
        old_mixed = (source - mean.float()) @ basis * w[:, :D] + old_codes * (1 - w[:, :D])
        pca = target_pca(META, acts)
        codes = pca.encode(base)
        sign = torch.sign(codes[0] / old_codes[0])
        assert torch.equal(codes, old_codes * sign)
        assert torch.equal(
            pca.decode(_mix(pca, base, source, w), base), old_mixed @ basis.T + mean.float()
        )
