"""Standard ReLU SAE: ``relu(x W_enc + b_enc)``."""

from torch import Tensor

from saebench.sae.base import Sae
from saebench.sae.registry import register_encoder


@register_encoder
class StandardSae(Sae):
    """ReLU codes; transcoders and skip transcoders (``W_skip``) of SAELens and the zoo's
    neuron and PCA reference dictionaries encode this way too."""

    encoder_kind = "relu"
    architectures = ("standard", "transcoder", "skip_transcoder", "neurons", "pca")

    def activate(self, pre: Tensor) -> Tensor:
        return pre.relu()
