"""Gated SAE: a gate decides which latents fire, a rescaled path decides how much."""

from typing import ClassVar

import torch
from torch import Tensor, nn

from saebench.sae.base import SAE_TENSORS, Sae, TensorSpec
from saebench.sae.registry import register_encoder


@register_encoder
class GatedSae(Sae):
    """Codes are ``1[x W + b_gate > 0] * relu(x (W * exp(r_mag)) + b_mag)``.

    There is no ``b_enc``: ``b_gate`` plays its role for the gate (and is what ``b_enc``
    returns, so generic code that reads encoder biases still works).
    """

    encoder_kind = "gated"
    tensor_specs: ClassVar[dict[str, TensorSpec]] = {
        "W_enc": SAE_TENSORS["W_enc"],
        "b_gate": TensorSpec(("d_sae",)),
        "b_mag": TensorSpec(("d_sae",)),
        "r_mag": TensorSpec(("d_sae",)),
        "W_dec": SAE_TENSORS["W_dec"],
        "b_dec": SAE_TENSORS["b_dec"],
        "W_skip": SAE_TENSORS["W_skip"],
    }

    def __init__(self, meta, W_enc, b_gate, b_mag, r_mag, W_dec, b_dec, W_skip=None):
        super().__init__(meta, W_enc, b_gate, W_dec, b_dec, W_skip)
        self.b_mag = nn.Parameter(b_mag)
        self.r_mag = nn.Parameter(r_mag)

    @property
    def b_gate(self) -> Tensor:
        return self.b_enc

    def activate(self, pre: Tensor) -> Tensor:
        raise NotImplementedError("gated SAEs encode through encode()")

    def encode(self, x: Tensor) -> Tensor:
        x = self.normalize(x.to(self.dtype))
        if self.meta.apply_b_dec_to_input:
            x = x - self.b_dec
        projected = x @ self.W_enc
        gate = (projected + self.b_enc) > 0
        magnitude = (x @ (self.W_enc * torch.exp(self.r_mag)) + self.b_mag).relu()
        return gate * magnitude
