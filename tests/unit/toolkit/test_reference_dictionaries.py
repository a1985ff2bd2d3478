"""The reference dictionaries of saebench.toolkit.references: each is an SAE of the protocol,
the bases reconstruct exactly, PCA is ordered and signed, the random dictionary is seeded."""

from __future__ import annotations

import pytest
import torch

from saebench import load_sae
from saebench.adapters.saelens import save_saelens
from saebench.sae import Sae
from saebench.sae.registry import ARCHITECTURES
from saebench.toolkit.references import neuron_basis, pca_basis, random_dictionary

META = {"hook_name": "blocks.0.hook_resid_post", "model_name": "tiny-test"}
D = 12


@pytest.fixture(scope="module")
def acts() -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    scales = torch.linspace(5.0, 0.2, D)  # distinct variances, mixed by a random rotation
    rotation, _ = torch.linalg.qr(torch.randn(D, D, generator=gen))
    return (torch.randn(400, D, generator=gen) * scales) @ rotation.T + 2.0


def all_references(acts) -> dict[str, Sae]:
    return {
        "neurons": neuron_basis(acts, meta=META),
        "neurons_linear": neuron_basis(acts, meta=META, split=False),
        "pca": pca_basis(acts, meta=META),
        "pca_linear": pca_basis(acts, meta=META, split=False),
        "random": random_dictionary(acts, d_sae=32, k=3, seed=0, meta=META),
    }


def test_each_reference_is_a_protocol_sae_at_the_given_hook(acts):
    widths = {"neurons": 2 * D, "neurons_linear": D, "pca": 2 * D, "pca_linear": D, "random": 32}
    for label, sae in all_references(acts).items():
        assert isinstance(sae, Sae)
        assert sae.meta.architecture == label and label in ARCHITECTURES
        assert sae.meta.hook_name == META["hook_name"] and sae.d_in == D
        assert sae.d_sae == widths[label]
        codes, x_hat = sae(acts)  # the normal path: encode, then decode
        assert torch.equal(x_hat, sae.decode(sae.encode(acts), acts))
        assert not any(p.requires_grad for p in sae.parameters())


def test_the_neuron_bases_reconstruct_exactly_and_code_the_neurons(acts):
    split = neuron_basis(acts, meta=META)
    assert torch.equal(split.encode(acts), torch.cat([acts.relu(), (-acts).relu()], dim=1))
    assert torch.equal(split(acts)[1], acts)
    linear = neuron_basis(D, meta=META, split=False)  # the width alone is enough
    assert torch.equal(linear.encode(acts), acts)
    assert torch.equal(linear(acts)[1], acts)


@pytest.mark.parametrize("split", [True, False])
def test_pca_reconstructs_exactly_with_components_by_decreasing_variance(acts, split):
    sae = pca_basis(acts, meta=META, split=split)
    codes, x_hat = sae(acts)
    assert torch.allclose(x_hat, acts, atol=1e-5)
    signed = codes[:, :D] - codes[:, D:] if split else codes
    variances = signed.double().var(0)
    assert (variances[:-1] > variances[1:]).all()
    assert torch.allclose(variances, torch.linspace(5.0, 0.2, D).double() ** 2, rtol=0.25)
    assert torch.allclose(sae.b_dec, acts.double().mean(0).float())


def test_pca_components_are_orthonormal_and_signed_by_their_largest_entry(acts):
    for split in (True, False):
        P = pca_basis(acts, meta=META, split=split).W_enc[:, :D]
        assert torch.allclose(P.T @ P, torch.eye(D), atol=1e-5)
        largest = P.gather(0, P.abs().argmax(0, keepdim=True))
        assert (largest > 0).all()
    # the sign rule makes the basis the same whatever sign the eigensolver returns
    assert torch.equal(pca_basis(-acts, meta=META).W_enc, pca_basis(acts, meta=META).W_enc)


def test_pca_is_exact_with_fewer_rows_than_dimensions(acts):
    few = acts[:5]
    sae = pca_basis(few, meta=META, split=False)
    assert torch.allclose(sae(acts)[1], acts, atol=1e-4)  # every direction kept, not just 4


def test_the_random_dictionary_is_seeded_unit_norm_and_topk(acts):
    a = random_dictionary(acts, d_sae=32, k=3, seed=5, meta=META)
    b = random_dictionary(acts, d_sae=32, k=3, seed=5, meta=META)
    c = random_dictionary(acts, d_sae=32, k=3, seed=6, meta=META)
    assert torch.equal(a.W_dec, b.W_dec) and not torch.equal(a.W_dec, c.W_dec)
    assert torch.allclose(a.W_dec.norm(dim=1), torch.ones(32), atol=1e-6)
    assert torch.equal(a.W_enc, a.W_dec.T)
    assert int((a.encode(acts) != 0).sum(1).max()) <= 3


@pytest.mark.parametrize("label", ["neurons", "pca", "random"])
def test_the_sparse_references_survive_a_saelens_round_trip(acts, tmp_path, label):
    sae = all_references(acts)[label]
    loaded = load_sae(str(save_saelens(sae, tmp_path / label)))
    assert loaded.meta.architecture == label
    assert torch.equal(loaded.encode(acts), sae.encode(acts))
