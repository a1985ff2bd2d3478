"""Edits for :class:`saebench.models.runner.ModelRunner`: functions of a hook's activation.

Each builder returns a plain function ``act -> new act`` so evaluators can compose their
own; these are the ones the built-in evaluators share. Masks are bool ``[batch, pos]``:
positions outside the mask keep their clean activation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def _expand(mask: Tensor, like: Tensor) -> Tensor:
    return mask.view(*mask.shape, *([1] * (like.ndim - mask.ndim)))


def replace_where(values: Tensor, mask: Tensor | None):
    """Put ``values`` (shaped like the activation) in where ``mask`` is set."""

    def edit(act: Tensor) -> Tensor:
        new = values.to(act.dtype).view_as(act)
        return new if mask is None else torch.where(_expand(mask, act), new, act)

    return edit


def zero_where(mask: Tensor | None):
    """Zero ablation at masked positions."""

    def edit(act: Tensor) -> Tensor:
        return torch.zeros_like(act) if mask is None else act.masked_fill(_expand(mask, act), 0)

    return edit


def sae_view(act: Tensor, meta) -> Tensor:
    """The activation as the SAE reads it (one head, or all heads flattened for hook_z)."""
    if act.ndim == 4 and meta.hook_head_index is not None:
        return act[:, :, meta.hook_head_index]
    return act.flatten(-2) if act.ndim == 4 else act


def write_back(act: Tensor, new: Tensor, meta) -> Tensor:
    """Inverse of :func:`sae_view`: the full activation with the SAE's part replaced."""
    if act.ndim == 4 and meta.hook_head_index is not None:
        out = act.clone()
        out[:, :, meta.hook_head_index] = new.to(act.dtype)
        return out
    return new.to(act.dtype).view_as(act)


def edit_codes(
    sae,
    change: Callable[[Tensor], Tensor] | None,
    mask: Tensor | None,
    keep_error: bool = False,
):
    """Re-encode, change the codes, decode; optionally add the SAE's error term back.

    With ``change=None`` this is the plain SAE splice. ``keep_error=True`` adds
    ``x - decode(encode(x))`` so that only the change itself moves the activation.
    """

    def edit(act: Tensor) -> Tensor:
        x = sae_view(act, sae.meta)
        codes = sae.encode(x)
        new = sae.decode(change(codes) if change else codes, x)
        if keep_error:
            new = new + (x.to(new.dtype) - sae.decode(codes, x))
        return replace_where(write_back(act, new, sae.meta), mask)(act)

    return edit


def patch_latents(sae, source_codes: Tensor, latents: Tensor, mask: Tensor, keep_error=False):
    """Set chosen latents at masked positions to their values from another prompt (RAVEL).

    ``source_codes`` [batch, pos, d_sae] are the source prompt's codes aligned to the base
    positions; ``latents`` is a bool selection, [d_sae] or one per example [batch, d_sae].
    """

    def change(codes: Tensor) -> Tensor:
        chosen = latents if latents.ndim == 1 else latents[:, None, :]
        return torch.where(_expand(mask, codes) & chosen, source_codes.to(codes.dtype), codes)

    return edit_codes(sae, change, mask, keep_error)


def add_direction(direction: Tensor, alpha: float | Tensor, mask: Tensor | None):
    """Steering: add ``alpha * direction`` at masked positions, the rest kept (error kept)."""

    def edit(act: Tensor) -> Tensor:
        step = (alpha * direction).to(act.dtype)
        return act + step if mask is None else act + _expand(mask, act).to(act.dtype) * step

    return edit
