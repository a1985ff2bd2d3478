"""The SAE protocol: one module shape for every architecture and file format.

Canonical orientation: ``W_enc [d_in, d_sae]``, ``W_dec [d_sae, d_out]``. Subclasses only
say how pre-activations become codes (``activate``) and declare what they are (labels,
tensors); input handling, decoding, the skip connection of skip transcoders and input
normalisation live here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from saebench.sae.metadata import SaeMetadata

_EPS = 1e-5


@dataclass(frozen=True)
class TensorSpec:
    """A tensor an encoder class reads from a checkpoint.

    ``shape`` names dimensions the metadata fixes (``d_in``, ``d_sae``, ``d_out``);
    ``optional`` tensors may be absent (``None`` reaches the constructor); with
    ``scalar_broadcasts`` a 0-d tensor stands for the same value at every position.
    """

    shape: tuple[str, ...]
    optional: bool = False
    scalar_broadcasts: bool = False

    def expected(self, meta: SaeMetadata) -> tuple[int, ...]:
        dims = {"d_in": meta.d_in, "d_sae": meta.d_sae, "d_out": meta.width_out}
        return tuple(dims[name] for name in self.shape)


# The tensors of a plain SAE; an encoder class adds or removes from these.
SAE_TENSORS: dict[str, TensorSpec] = {
    "W_enc": TensorSpec(("d_in", "d_sae")),
    "b_enc": TensorSpec(("d_sae",)),
    "W_dec": TensorSpec(("d_sae", "d_out")),
    "b_dec": TensorSpec(("d_out",)),
    "W_skip": TensorSpec(("d_out", "d_in"), optional=True),  # skip transcoders
}


class Sae(nn.Module):
    """A sparse dictionary: ``encode(x) -> codes``, ``decode(codes, x) -> x_hat``.

    ``decode`` takes the input too because two things depend on it: the per-token
    normalisation statistics (``layer_norm``, ``constant_norm_rescale``) and the skip
    connection of skip transcoders. Pass ``x=None`` when neither applies.

    Example:
        >>> codes, x_hat = sae(x)          # x: [..., d_in]
        >>> x_hat2 = sae.decode(codes, x)  # same as x_hat
    """

    # What an encoder class declares, read by saebench.sae.registry and build_sae:
    encoder_kind: ClassVar[str] = "abstract"  # how it computes codes; also its own label
    architectures: ClassVar[tuple[str, ...]] = ()  # more labels that encode this way
    tensor_specs: ClassVar[dict[str, TensorSpec]] = SAE_TENSORS

    def __init__(
        self,
        meta: SaeMetadata,
        W_enc: Tensor,
        b_enc: Tensor,
        W_dec: Tensor,
        b_dec: Tensor,
        W_skip: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.meta = meta
        self.W_enc = nn.Parameter(W_enc)
        self.b_enc = nn.Parameter(b_enc)
        self.W_dec = nn.Parameter(W_dec)
        self.b_dec = nn.Parameter(b_dec)
        self.W_skip = nn.Parameter(W_skip) if W_skip is not None else None

    @classmethod
    def from_tensors(cls, meta: SaeMetadata, tensors: dict[str, Tensor]) -> Sae:
        """The SAE from checked tensors: each declared tensor is passed to the constructor
        under its name (absent optional ones as ``None``). Override when they differ."""
        return cls(meta, **{name: tensors.get(name) for name in cls.tensor_specs})

    # -- tensor views -------------------------------------------------------------------
    @property
    def d_in(self) -> int:
        return self.W_enc.shape[0]

    @property
    def d_sae(self) -> int:
        return self.W_dec.shape[0]

    @property
    def d_out(self) -> int:
        return self.W_dec.shape[1]

    @property
    def dtype(self) -> torch.dtype:
        return self.W_dec.dtype

    @property
    def device(self) -> torch.device:
        return self.W_dec.device

    def named_tensors(self) -> dict[str, Tensor]:
        """Every weight, by its canonical name (used for hashing and checks)."""
        return {name: p.detach() for name, p in self.named_parameters()}

    # -- the forward computation ----------------------------------------------------------
    def normalize(self, x: Tensor) -> Tensor:
        """Put raw activations in the space the SAE was trained on."""
        mode = self.meta.normalize_activations
        if self.meta.input_scale is not None:
            x = x * self.meta.input_scale
        if mode == "layer_norm":
            mu = x.mean(-1, keepdim=True)
            x = x - mu
            return x / (x.std(-1, keepdim=True) + _EPS)
        if mode == "constant_norm_rescale":
            return x * (x.shape[-1] ** 0.5 / x.norm(dim=-1, keepdim=True).clamp_min(_EPS))
        return x

    def denormalize(self, y: Tensor, x: Tensor | None) -> Tensor:
        """Undo ``normalize`` on an output, using the statistics of the input ``x``."""
        mode = self.meta.normalize_activations
        if mode != "none":
            if x is None:
                raise ValueError(f"decode needs the input x to undo {mode!r} normalisation")
            x = x.to(self.dtype)
            if self.meta.input_scale is not None:
                x = x * self.meta.input_scale
            if mode == "layer_norm":
                centred = x - x.mean(-1, keepdim=True)
                # sae-lens and OpenAI undo the norm without the epsilon used on the way in
                y = y * centred.std(-1, keepdim=True) + x.mean(-1, keepdim=True)
            else:
                y = y * (x.norm(dim=-1, keepdim=True).clamp_min(_EPS) / x.shape[-1] ** 0.5)
        if self.meta.input_scale is not None:
            y = y / self.meta.input_scale
        return y

    def pre_acts(self, x_norm: Tensor) -> Tensor:
        if self.meta.apply_b_dec_to_input:
            x_norm = x_norm - self.b_dec
        return x_norm @ self.W_enc + self.b_enc

    def activate(self, pre: Tensor) -> Tensor:
        raise NotImplementedError

    def encode(self, x: Tensor) -> Tensor:
        """Codes ``[..., d_sae]`` for raw activations ``[..., d_in]``."""
        return self.activate(self.pre_acts(self.normalize(x.to(self.dtype))))

    def decode(self, codes: Tensor, x: Tensor | None = None) -> Tensor:
        """Reconstruction ``[..., d_out]`` of raw activations from codes."""
        y = codes.to(self.dtype) @ self.W_dec + self.b_dec
        if self.W_skip is not None:
            if x is None:
                raise ValueError("a skip transcoder's decode needs its input x")
            y = y + self.normalize(x.to(self.dtype)) @ self.W_skip.T
        return self.denormalize(y, x)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        codes = self.encode(x)
        return codes, self.decode(codes, x)

    def extra_repr(self) -> str:
        m = self.meta
        return f"{m.architecture}, d_in={self.d_in}, d_sae={self.d_sae}, hook={m.hook_name}"
