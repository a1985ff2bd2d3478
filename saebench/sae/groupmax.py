"""GroupMax SAE (EleutherAI sparsify ``activation="groupmax"``).

The latents are cut into ``k`` contiguous groups of equal size; in each group only the
largest ReLU'd pre-activation survives, so exactly ``k`` latents can fire per token.
"""

import torch
from torch import Tensor

from saebench.sae.base import Sae
from saebench.sae.registry import register_encoder


@register_encoder
class GroupMaxSae(Sae):
    """Codes keep the maximum of ``relu(pre)`` inside each of ``k`` equal latent groups.

    Example:
        >>> codes = sae.encode(x)   # at most meta.k non-zeros per token, one per group
    """

    encoder_kind = "groupmax"
    architectures = ("groupmax_transcoder",)

    def __init__(self, meta, W_enc, b_enc, W_dec, b_dec, W_skip=None) -> None:
        if not meta.k or meta.k <= 0:
            raise ValueError("a GroupMax SAE needs a positive k (the number of groups)")
        if W_dec.shape[0] % meta.k:
            raise ValueError(
                f"a GroupMax SAE needs d_sae ({W_dec.shape[0]}) divisible by k ({meta.k})"
            )
        super().__init__(meta, W_enc, b_enc, W_dec, b_dec, W_skip)

    def activate(self, pre: Tensor) -> Tensor:
        acts = pre.relu()
        groups = acts.unflatten(-1, (self.meta.k, -1))
        values, within = groups.max(dim=-1)
        size = groups.shape[-1]
        offsets = torch.arange(0, acts.shape[-1], size, device=acts.device)
        return torch.zeros_like(acts).scatter_(-1, within + offsets, values)
