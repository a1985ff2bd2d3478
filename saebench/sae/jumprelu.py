"""JumpReLU SAE: a pre-activation passes only above its own threshold.

BatchTopK SAEs and Matryoshka BatchTopK SAEs encode this way at inference, with the learnt
global threshold broadcast to every latent.
"""

from typing import ClassVar

from torch import Tensor, nn

from saebench.sae.base import SAE_TENSORS, Sae, TensorSpec
from saebench.sae.registry import register_encoder


@register_encoder
class JumpReluSae(Sae):
    encoder_kind = "jumprelu"
    architectures = ("batchtopk", "matryoshka", "jumprelu_transcoder")
    tensor_specs: ClassVar[dict[str, TensorSpec]] = {
        **SAE_TENSORS,
        # BatchTopK keeps one global threshold: a scalar stands for every latent's
        "threshold": TensorSpec(("d_sae",), scalar_broadcasts=True),
    }

    def __init__(self, meta, W_enc, b_enc, W_dec, b_dec, threshold: Tensor, W_skip=None):
        super().__init__(meta, W_enc, b_enc, W_dec, b_dec, W_skip)
        self.threshold = nn.Parameter(threshold)

    def activate(self, pre: Tensor) -> Tensor:
        return pre.relu() * (pre > self.threshold)
