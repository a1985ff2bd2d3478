"""Direct feature attribution (DFA) of an attention-output latent to source positions.

At a destination position ``d``, head ``h`` writes ``z_h[d] = sum_s A_h[d, s] v_h[s]`` (the
attention pattern times the values). Splitting ``z[d]`` (heads concatenated) into one term
per source ``s`` and passing each through the linear part of the encoder gives

    DFA[d, s, f] = L_d(c[d, s]) . W_enc[:, f],   c[d, s] = concat_h A_h[d, s] v_h[s]

(Kissane et al., arXiv 2406.17759; ``common/utils.py::get_per_src_pos_dfa_all_heads``, which
applies ``W_enc`` to the raw terms). ``L_d`` is the SAE's input normalisation with its
per-token statistics frozen at the destination (the identity for plain SAEs, a scale for
``input_scale``), so the identity

    sum_s DFA[d, s, f] + b_f = pre_f(z[d]),   b_f = b_enc[f] - [b_dec . W_enc[:, f]]

holds exactly (``b_dec`` only when the SAE subtracts it from its input): the terms are the
pre-activation's whole dependence on ``z``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from saebench.sae.base import _EPS


def hook_names(hook_z: str) -> tuple[str, str]:
    """The value and pattern hooks of the attention layer whose ``hook_z`` is given."""
    prefix = hook_z.removesuffix("hook_z")
    return prefix + "hook_v", prefix + "hook_pattern"


def source_terms(pattern: Tensor, v: Tensor) -> Tensor:
    """``c[b, d, s]`` ``[batch, dest, src, n_heads * d_head]`` from the pattern
    ``[batch, head, dest, src]`` and the values ``[batch, src, kv_head, d_head]`` (grouped
    query attention's shared values repeated to every head)."""
    n_heads = pattern.shape[1]
    if v.shape[2] != n_heads:
        v = v.repeat_interleave(n_heads // v.shape[2], dim=2)
    terms = pattern.permute(0, 2, 3, 1).unsqueeze(-1) * v.unsqueeze(1)
    return terms.flatten(-2)


def frozen_normalize(sae, terms: Tensor, z: Tensor) -> Tensor:
    """``L_d`` applied to ``terms`` ``[..., src, d_in]`` with the statistics of ``z``
    ``[..., d_in]`` (the destination's whole activation)."""
    meta = sae.meta
    scale = 1.0 if meta.input_scale is None else meta.input_scale
    terms, z = terms * scale, (z * scale).unsqueeze(-2)
    if meta.normalize_activations == "layer_norm":
        centred = z - z.mean(-1, keepdim=True)
        return (terms - terms.mean(-1, keepdim=True)) / (centred.std(-1, keepdim=True) + _EPS)
    if meta.normalize_activations == "constant_norm_rescale":
        return terms * (z.shape[-1] ** 0.5 / z.norm(dim=-1, keepdim=True).clamp_min(_EPS))
    return terms


def encoder_bias(sae) -> Tensor:
    """``b_f``: the pre-activation of a zero linear part."""
    bias = sae.b_enc
    if sae.meta.apply_b_dec_to_input:
        bias = bias - sae.b_dec @ sae.W_enc
    return bias


@torch.no_grad()
def dfa(sae, pattern: Tensor, v: Tensor, z: Tensor, latents: Tensor, dest: Tensor) -> Tensor:
    """DFA ``[n, src]`` of ``latents[i]`` at ``(prompt 0, dest[i])`` of one prompt's
    pattern ``[1, head, pos, pos]``, values and ``z`` ``[1, pos, n_heads * d_head]``."""
    dtype = sae.dtype
    terms = source_terms(pattern[:, :, dest].to(dtype), v.to(dtype))[0]  # [n, src, d_in]
    normed = frozen_normalize(sae, terms, z[0, dest].to(dtype))
    return torch.einsum("nsi,in->ns", normed, sae.W_enc[:, latents])


def per_head(sae, pattern: Tensor, v: Tensor, z: Tensor, latent: int, dest: int) -> Tensor:
    """DFA of one (latent, destination) summed over sources, split by head ``[n_heads]``."""
    n_heads = pattern.shape[1]
    terms = source_terms(pattern[:, :, [dest]].to(sae.dtype), v.to(sae.dtype))[0, 0]
    normed = frozen_normalize(sae, terms.unsqueeze(0), z[0, [dest]].to(sae.dtype))[0]
    by_head = (normed * sae.W_enc[:, latent]).view(normed.shape[0], n_heads, -1)
    return by_head.sum(dim=(0, 2))
