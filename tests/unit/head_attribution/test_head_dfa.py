"""DFA on a tiny model: the source terms rebuild hook_z, and the DFA of every latent sums
to its pre-activation less the bias (an exact identity), for every input normalisation."""

import pytest
import torch
from helpers import make_sae

from saebench.evaluators.head_attribution import dfa as D

HOOK = "blocks.1.attn.hook_z"


def _cache(model, texts):
    tokens = model.to_tokens(texts[:2], padding_side="right")[:, :12]
    _, cache = model.run_with_cache(tokens)
    v, pattern = D.hook_names(HOOK)
    return cache[v], cache[pattern], cache[HOOK].flatten(-2)


@torch.no_grad()
def test_source_terms_sum_to_hook_z(tiny_model, texts):
    v, pattern, z = _cache(tiny_model, texts)
    terms = D.source_terms(pattern, v)  # [batch, dest, src, n_heads * d_head]
    torch.testing.assert_close(terms.sum(2), z, atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_kissane_formula_on_a_plain_sae(tiny_model, texts):
    """Without b_dec subtraction or normalisation DFA is the pattern, repeated over d_head,
    times the concatenated values, times the encoder column (written out independently)."""
    v, pattern, z = _cache(tiny_model, texts)
    sae = make_sae(d_in=32, hook_name=HOOK, reshape_activations="hook_z")
    latents, dests = torch.tensor([3, 7, 11]), torch.tensor([4, 9, 11])
    got = D.dfa(sae, pattern[:1], v[:1], z[:1], latents, dests)
    repeated = pattern[0].repeat_interleave(8, dim=0)  # [n_heads * d_head, dest, src]
    v_cat = v[0].flatten(-2)  # [src, n_heads * d_head]
    for i, (f, d) in enumerate(zip(latents.tolist(), dests.tolist(), strict=True)):
        want = (repeated[:, d, :].T * v_cat * sae.W_enc[:, f]).sum(-1)
        torch.testing.assert_close(got[i], want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "fields",
    [
        {"apply_b_dec_to_input": True},
        {"apply_b_dec_to_input": True, "input_scale": 3.0},
        {"normalize_activations": "layer_norm"},
        {"normalize_activations": "constant_norm_rescale", "apply_b_dec_to_input": True},
    ],
)
@torch.no_grad()
def test_dfa_sums_to_the_pre_activation(tiny_model, texts, fields):
    v, pattern, z = _cache(tiny_model, texts)
    sae = make_sae(d_in=32, hook_name=HOOK, reshape_activations="hook_z", **fields)
    n_pos = z.shape[1]
    latents = torch.arange(64).repeat(n_pos)  # every latent at every destination
    dests = torch.arange(n_pos).repeat_interleave(64)
    got = (
        D.dfa(sae, pattern[1:], v[1:], z[1:], latents, dests).sum(-1) + D.encoder_bias(sae)[latents]
    )
    pre = sae.pre_acts(sae.normalize(z[1]))  # [pos, d_sae]
    torch.testing.assert_close(got, pre[dests, latents], atol=1e-4, rtol=1e-4)
    by_head = D.per_head(sae, pattern[1:], v[1:], z[1:], latent=5, dest=n_pos - 1)
    total = D.dfa(sae, pattern[1:], v[1:], z[1:], torch.tensor([5]), torch.tensor([n_pos - 1]))
    torch.testing.assert_close(by_head.sum(), total.sum(), atol=1e-5, rtol=1e-5)


def test_future_sources_get_nothing(tiny_model, texts):
    v, pattern, z = _cache(tiny_model, texts)
    sae = make_sae(d_in=32, hook_name=HOOK, reshape_activations="hook_z")
    got = D.dfa(sae, pattern[:1], v[:1], z[:1], torch.tensor([0]), torch.tensor([3]))
    assert torch.all(got[0, 4:] == 0) and torch.any(got[0, :4] != 0)


def test_grouped_query_values_are_shared_by_consecutive_heads():
    gen = torch.Generator().manual_seed(0)
    pattern = torch.rand(1, 4, 3, 3, generator=gen)  # 4 query heads
    v = torch.randn(1, 3, 2, 5, generator=gen)  # 2 value heads: heads 0, 1 share 0; 2, 3 share 1
    terms = D.source_terms(pattern, v).view(1, 3, 3, 4, 5)
    for h, kv in enumerate([0, 0, 1, 1]):
        want = pattern[0, h][:, :, None] * v[0, :, kv][None]  # [dest, src, d_head]
        torch.testing.assert_close(terms[0, :, :, h], want)
