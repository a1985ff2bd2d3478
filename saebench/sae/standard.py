"""Standard ReLU SAE: ``relu(x W_enc + b_enc)``."""

from torch import Tensor

from saebench.sae.base import Sae


class StandardSae(Sae):
    encoder_kind = "relu"

    def activate(self, pre: Tensor) -> Tensor:
        return pre.relu()
