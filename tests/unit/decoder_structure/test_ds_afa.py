"""eps_LBO: 0 on a hand-made orthonormal SAE, hand-worked on a small one, and the target
moved into the decoder's space for normalised SAEs and skip transcoders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saebench.evaluators import SaeBatch
from saebench.evaluators.decoder_structure.afa import TokenNorms, decoder_space_target, eps_lbo
from saebench.sae.metadata import SaeMetadata
from saebench.sae.standard import StandardSae

D = 6


def orthonormal_sae(**meta) -> StandardSae:
    q = torch.linalg.qr(torch.randn(D, D, generator=torch.Generator().manual_seed(0)))[0]
    metadata = SaeMetadata(architecture="standard", d_in=D, d_sae=D, hook_name="h", **meta)
    return StandardSae(metadata, q.clone(), torch.zeros(D), q.T.clone(), torch.zeros(D))


def batch_for(sae, x: torch.Tensor, target: torch.Tensor | None = None) -> SaeBatch:
    codes, x_hat = sae(x)
    n = x.shape[0]
    return SaeBatch(
        sae=sae,
        tokens=torch.zeros(1, n, dtype=torch.long),
        mask=torch.ones(1, n, dtype=torch.bool),
        x=x,
        target=x if target is None else target,
        codes=codes.detach(),
        x_hat=x_hat.detach(),
    )


def test_orthonormal_sae_has_zero_eps():
    sae = orthonormal_sae()
    coeffs = torch.rand(50, D, generator=torch.Generator().manual_seed(1)) + 0.1
    x = coeffs @ sae.W_dec.detach()  # positive codes along orthonormal rows: exact
    norms = TokenNorms(sae)
    norms.add(batch_for(sae, x))
    z, f, contexts = norms.arrays()
    np.testing.assert_allclose(f, z, rtol=1e-5)
    assert np.all(eps_lbo(z, f, sae.d_sae) < 1e-5)
    assert contexts.tolist() == [0] * 50


def test_hand_worked_eps():
    # ||f~||^2 = 3^2 * 2^2 + ||b||^2 (=0) = 36 and ||z||^2 = 40, h = 2: eps = 4 / 36
    assert eps_lbo(np.array([40**0.5]), np.array([6.0]), h=2)[0] == pytest.approx(1 / 9)
    w_dec = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    meta = SaeMetadata(architecture="standard", d_in=2, d_sae=2, hook_name="h")
    sae = StandardSae(meta, torch.eye(2), torch.zeros(2), w_dec, torch.tensor([0.0, 1.0]))
    norms = TokenNorms(sae)
    batch = batch_for(sae, torch.tensor([[3.0, 0.0]]))  # codes [3, 0]
    norms.add(batch)
    z, f, _ = norms.arrays()
    assert f[0] == pytest.approx((36 + 1) ** 0.5)  # the bias counts as a unit feature
    assert z[0] == pytest.approx(3.0)
    assert eps_lbo(z, f, 2)[0] == pytest.approx(abs(9 - 37) / 37)


def test_zero_codes_and_bias_have_no_eps():
    assert np.isnan(eps_lbo(np.array([1.0]), np.array([0.0]), h=4)[0])


@pytest.mark.parametrize("mode", ["layer_norm", "constant_norm_rescale"])
def test_target_in_decoder_space_of_a_normalised_sae(mode):
    sae = orthonormal_sae(normalize_activations=mode, input_scale=2.0)
    x = torch.randn(5, D, generator=torch.Generator().manual_seed(2)) * 3 + 1
    torch.testing.assert_close(decoder_space_target(sae, x, x), sae.normalize(x))


def test_target_of_a_skip_transcoder_drops_the_skip_path():
    sae = orthonormal_sae(hook_name_out="out")
    sae.W_skip = torch.nn.Parameter(torch.randn(D, D, generator=torch.Generator().manual_seed(3)))
    x = torch.randn(4, D, generator=torch.Generator().manual_seed(4))
    codes = torch.rand(4, D)
    target = sae.decode(codes, x)  # what this transcoder writes for these codes
    expected = codes @ sae.W_dec.detach() + sae.b_dec.detach()
    torch.testing.assert_close(decoder_space_target(sae, x, target), expected)
