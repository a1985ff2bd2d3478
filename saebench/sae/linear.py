"""Linear codes: the pre-activations themselves, ``x W_enc + b_enc``.

Not a sparse code but a change of basis; the linear references of
:mod:`saebench.toolkit.references` (the neuron basis and PCA without the split by sign)
encode this way, so an evaluator can swap their coordinates through the same protocol.
"""

from torch import Tensor

from saebench.sae.base import Sae
from saebench.sae.registry import register_encoder


@register_encoder
class LinearSae(Sae):
    """Codes equal the pre-activations (no nonlinearity); with an orthonormal ``W_enc``
    and ``W_dec = W_enc^T`` the round trip is exact."""

    encoder_kind = "linear"
    architectures = ("neurons_linear", "pca_linear")

    def activate(self, pre: Tensor) -> Tensor:
        return pre
