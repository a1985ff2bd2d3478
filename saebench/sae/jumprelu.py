"""JumpReLU SAE: a pre-activation passes only above its own threshold.

BatchTopK SAEs and Matryoshka BatchTopK SAEs encode this way at inference, with the learnt
global threshold broadcast to every latent.
"""

from torch import Tensor, nn

from saebench.sae.base import Sae


class JumpReluSae(Sae):
    encoder_kind = "jumprelu"

    def __init__(self, meta, W_enc, b_enc, W_dec, b_dec, threshold: Tensor, W_skip=None):
        super().__init__(meta, W_enc, b_enc, W_dec, b_dec, W_skip)
        self.threshold = nn.Parameter(threshold)

    def activate(self, pre: Tensor) -> Tensor:
        return pre.relu() * (pre > self.threshold)
