"""Each control keeps what it promises to keep and destroys what it promises to destroy."""

import pytest
import torch
from helpers import make_sae

from saebench.errors import SaebenchError
from saebench.identity import sae_weights_hash
from saebench.sae.controls import (
    MatchedL0RandomSae,
    cyclic_permutation,
    keep_largest,
    make_control,
)


def inputs(sae, n=300, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, sae.d_in, generator=gen) + sae.b_dec


# -- permuted_decoder ------------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ["standard", "topk", "jumprelu", "gated"])
def test_permuted_decoder_keeps_the_codes_and_moves_every_decoder_row(architecture):
    extra = {"k": 8} if architecture == "topk" else {}
    sae = make_sae(architecture, **extra)
    control = make_control(sae, "permuted_decoder", seed=3)
    x = inputs(sae)
    assert torch.equal(control.encode(x), sae.encode(x))
    # each row is another latent's row: the same set of rows, none where it was
    rows = {tuple(r.tolist()) for r in sae.W_dec}
    assert {tuple(r.tolist()) for r in control.W_dec} == rows
    assert not (control.W_dec == sae.W_dec).all(-1).any()
    assert torch.equal(control.W_enc, sae.W_enc) and torch.equal(control.b_dec, sae.b_dec)
    assert not torch.allclose(control.decode(sae.encode(x)), sae.decode(sae.encode(x)))
    assert type(control) is type(sae) and control.meta.architecture == architecture


def test_the_permutation_is_one_cycle_without_fixed_points():
    order = cyclic_permutation(50, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(50))
    seen, item = set(), 0
    while item not in seen:
        seen.add(item)
        item = int(order[item])
    assert len(seen) == 50


# -- matched_l0_random -----------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ["standard", "topk", "jumprelu", "gated"])
def test_matched_l0_random_has_the_base_l0_on_every_token(architecture):
    extra = {"k": 8} if architecture == "topk" else {}
    sae = make_sae(architecture, **extra)
    control = make_control(sae, "matched_l0_random")
    x = inputs(sae)
    base_l0 = torch.count_nonzero(sae.encode(x), dim=-1)
    if architecture != "topk":  # the L0 varies, so matching it means something
        assert base_l0.min() < base_l0.max()
    assert torch.equal(torch.count_nonzero(control.encode(x), dim=-1), base_l0)
    # token for token, not per batch: a token's code is the same in any batch
    assert torch.allclose(control.encode(x[7:9]), control.encode(x)[7:9], atol=1e-6)


def test_matched_l0_random_keeps_the_largest_projections_of_a_random_dictionary():
    sae = make_sae("topk", k=6)
    control = make_control(sae, "matched_l0_random", seed=2)
    assert isinstance(control, MatchedL0RandomSae)
    torch.testing.assert_close(control.W_dec.norm(dim=-1), torch.ones(sae.d_sae))
    assert torch.equal(control.W_enc, control.W_dec.T)
    # the directions are not the SAE's
    assert (control.W_dec @ sae.W_dec.T).abs().max() < 0.9
    x = inputs(sae)
    codes = control.encode(x)
    projections = (x - sae.b_dec) @ control.W_dec.T
    chosen = codes != 0
    smallest_kept = torch.where(chosen, projections, torch.inf).min(-1).values
    largest_left = torch.where(chosen, -torch.inf, projections).max(-1).values
    assert (smallest_kept >= largest_left).all()
    assert (codes >= 0).all()
    # the one per-token scale never makes the fit worse than b_dec alone
    error = (x - control.decode(codes)).pow(2).sum(-1)
    assert (error <= (x - sae.b_dec).pow(2).sum(-1) + 1e-5).all()


def test_keep_largest_keeps_a_count_per_row():
    values = torch.tensor([[3.0, 1.0, 2.0], [1.0, 5.0, 4.0], [1.0, 2.0, 3.0]])
    kept = keep_largest(values, torch.tensor([2, 1, 0]))
    assert kept.tolist() == [[3.0, 0.0, 2.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]


def test_matched_l0_random_refuses_a_transcoder():
    transcoder = make_sae("transcoder", hook_name_out="blocks.0.hook_mlp_out", d_out=16)
    with pytest.raises(SaebenchError, match="not transcoders.*permuted_decoder or random_init"):
        make_control(transcoder, "matched_l0_random")


# -- random_init -----------------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ["standard", "topk", "jumprelu", "gated"])
def test_random_init_is_the_same_architecture_freshly_initialised(architecture):
    extra = {"k": 8} if architecture == "topk" else {}
    sae = make_sae(architecture, **extra)
    control = make_control(sae, "random_init", seed=4)
    assert type(control) is type(sae) and control.meta.k == sae.meta.k
    shapes = {name: t.shape for name, t in sae.named_tensors().items()}
    assert {name: t.shape for name, t in control.named_tensors().items()} == shapes
    torch.testing.assert_close(control.W_dec.norm(dim=-1), torch.ones(sae.d_sae))
    assert torch.equal(control.W_enc, control.W_dec.T)
    assert not control.b_enc.any() and torch.equal(control.b_dec, sae.b_dec)
    assert (control.W_dec @ sae.W_dec.T).abs().max() < 0.9  # not the trained directions
    if architecture == "jumprelu":
        assert torch.equal(control.threshold, sae.threshold)
    if architecture == "gated":
        assert not control.b_mag.any() and not control.r_mag.any()


def test_random_init_of_a_transcoder_draws_its_encoder_separately():
    transcoder = make_sae("transcoder", hook_name_out="blocks.0.hook_mlp_out", d_out=16)
    control = make_control(transcoder, "random_init")
    assert control.W_enc.shape == transcoder.W_enc.shape
    assert control.W_dec.shape == transcoder.W_dec.shape
    torch.testing.assert_close(control.W_enc.norm(dim=0), torch.ones(transcoder.d_sae))


# -- identity --------------------------------------------------------------------------------
def test_a_controls_weights_hash_is_its_base_kind_and_seed():
    sae = make_sae("topk", k=8)
    again = make_sae("topk", k=8)
    hashes = {
        (kind, seed): sae_weights_hash(make_control(sae, kind, seed))
        for kind in ("permuted_decoder", "matched_l0_random", "random_init")
        for seed in (0, 1)
    }
    assert len(set(hashes.values())) == 6
    assert sae_weights_hash(make_control(again, "random_init", 1)) == hashes["random_init", 1]
    other = make_sae("topk", k=8, seed=5)
    assert sae_weights_hash(make_control(other, "random_init", 1)) != hashes["random_init", 1]
    assert sae_weights_hash(sae) not in hashes.values()


def test_a_control_says_what_it_is_and_leaves_its_base_alone():
    sae = make_sae("topk", k=8)
    before = {name: t.clone() for name, t in sae.named_tensors().items()}
    control = make_control(sae, "matched_l0_random", of="zoo:some-sae")
    assert control.control.kind == "matched_l0_random" and control.control.of == "zoo:some-sae"
    assert control.meta.extra["control"]["of"] == "zoo:some-sae"
    assert control.meta.source == "control:matched_l0_random:zoo:some-sae"
    assert all(torch.equal(before[n], t) for n, t in sae.named_tensors().items())
    assert not hasattr(sae, "control")
    with pytest.raises(SaebenchError, match="already a control"):
        make_control(control, "random_init")
