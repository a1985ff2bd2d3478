"""TopK SAE: keep the k largest pre-activations per token, then ReLU."""

import torch
from torch import Tensor

from saebench.sae.base import Sae
from saebench.sae.registry import register_encoder


@register_encoder
class TopKSae(Sae):
    """The k largest pre-activations survive; Matryoshka TopK SAEs, TopK transcoders and the
    zoo's random reference dictionary encode this way too."""

    encoder_kind = "topk"
    architectures = ("matryoshka_topk", "topk_transcoder", "random")

    def __init__(self, meta, W_enc, b_enc, W_dec, b_dec, W_skip=None) -> None:
        if not meta.k or meta.k <= 0:
            raise ValueError("a TopK SAE needs a positive k in its metadata")
        if meta.k > meta.d_sae:
            raise ValueError(
                f"k={meta.k} exceeds d_sae={meta.d_sae}: a TopK SAE cannot keep more latents "
                "than it has; fix k in the config"
            )
        super().__init__(meta, W_enc, b_enc, W_dec, b_dec, W_skip)

    def activate(self, pre: Tensor) -> Tensor:
        values, indices = pre.topk(self.meta.k, dim=-1, sorted=False)
        return torch.zeros_like(pre).scatter_(-1, indices, values.relu())
