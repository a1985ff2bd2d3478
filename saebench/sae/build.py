"""Build an SAE from canonical tensors, with checks that turn bad files into clear errors."""

from __future__ import annotations

import torch
from torch import Tensor

from saebench.errors import SaebenchError
from saebench.sae.base import Sae
from saebench.sae.gated import GatedSae
from saebench.sae.groupmax import GroupMaxSae
from saebench.sae.jumprelu import JumpReluSae
from saebench.sae.metadata import SaeMetadata
from saebench.sae.standard import StandardSae
from saebench.sae.topk import TopKSae

# Encoder classes by the way they compute codes. Architecture labels map onto these.
ENCODERS: dict[str, type[Sae]] = {
    "relu": StandardSae,
    "topk": TopKSae,
    "jumprelu": JumpReluSae,
    "gated": GatedSae,
    "groupmax": GroupMaxSae,
}

# Each architecture label and the encoder it uses at inference.
ARCHITECTURES: dict[str, str] = {
    "standard": "relu",
    "relu": "relu",
    "topk": "topk",
    "batchtopk": "jumprelu",
    "jumprelu": "jumprelu",
    "gated": "gated",
    "groupmax": "groupmax",
    "groupmax_transcoder": "groupmax",
    "matryoshka": "jumprelu",
    "matryoshka_topk": "topk",
    "transcoder": "relu",
    "skip_transcoder": "relu",
    "jumprelu_transcoder": "jumprelu",
    "topk_transcoder": "topk",
    "neurons": "relu",
    "pca": "relu",
    "random": "topk",  # the zoo's random dictionary encodes with TopK
}

_REQUIRED = {
    "relu": ["W_enc", "b_enc", "W_dec", "b_dec"],
    "topk": ["W_enc", "b_enc", "W_dec", "b_dec"],
    "jumprelu": ["W_enc", "b_enc", "W_dec", "b_dec", "threshold"],
    "gated": ["W_enc", "b_gate", "b_mag", "r_mag", "W_dec", "b_dec"],
    "groupmax": ["W_enc", "b_enc", "W_dec", "b_dec"],
}


def encoder_for(architecture: str, where: str) -> str:
    kind = ARCHITECTURES.get(architecture)
    if kind is None:
        known = ", ".join(sorted(ARCHITECTURES))
        raise SaebenchError(
            f"{where}: unknown architecture {architecture!r}; known: {known}. "
            "Register custom code with a python:module:factory URI"
        )
    return kind


def build_sae(
    meta: SaeMetadata,
    tensors: dict[str, Tensor],
    *,
    where: str,
    encoder: str | None = None,
    dtype: torch.dtype | None = None,
    device: str | torch.device = "cpu",
) -> Sae:
    """An SAE from canonical tensors; ``where`` names the file in error messages.

    ``encoder`` overrides the encoder implied by ``meta.architecture`` (a Matryoshka SAE
    saved as TopK, say). Shapes, finiteness and the hook widths are checked here.
    """
    kind = encoder or encoder_for(meta.architecture, where)
    missing = [name for name in _REQUIRED[kind] if name not in tensors]
    if missing:
        raise SaebenchError(
            f"{where}: missing tensor(s) {', '.join(missing)} for a {meta.architecture} SAE; "
            f"found {', '.join(sorted(tensors)) or 'none'}"
        )
    tensors = {name: t.to(device=device, dtype=dtype or t.dtype) for name, t in tensors.items()}
    _check_shapes(meta, tensors, kind, where)
    _check_finite(tensors, where)
    meta = meta.model_copy(update={"dtype": str(next(iter(tensors.values())).dtype)[6:]})
    skip = tensors.get("W_skip")
    common = dict(W_enc=tensors["W_enc"], W_dec=tensors["W_dec"], b_dec=tensors["b_dec"])
    try:
        if kind == "gated":
            return GatedSae(
                meta,
                b_gate=tensors["b_gate"],
                b_mag=tensors["b_mag"],
                r_mag=tensors["r_mag"],
                W_skip=skip,
                **common,
            )
        if kind == "jumprelu":
            threshold = tensors["threshold"]
            if threshold.ndim == 0:  # BatchTopK keeps one global threshold
                threshold = threshold.expand(meta.d_sae).clone()
            return JumpReluSae(
                meta, b_enc=tensors["b_enc"], threshold=threshold, W_skip=skip, **common
            )
        return ENCODERS[kind](meta, b_enc=tensors["b_enc"], W_skip=skip, **common)
    except ValueError as exc:
        raise SaebenchError(f"{where}: {exc}") from exc


def _check_shapes(meta: SaeMetadata, t: dict[str, Tensor], kind: str, where: str) -> None:
    d_in, d_sae, d_out = meta.d_in, meta.d_sae, meta.width_out
    expected = {
        "W_enc": (d_in, d_sae),
        "W_dec": (d_sae, d_out),
        "b_dec": (d_out,),
        "b_enc": (d_sae,),
        "b_gate": (d_sae,),
        "b_mag": (d_sae,),
        "r_mag": (d_sae,),
        "W_skip": (d_out, d_in),
    }
    if kind == "jumprelu" and t["threshold"].ndim != 0:
        expected["threshold"] = (d_sae,)
    for name, shape in expected.items():
        if name in t and tuple(t[name].shape) != shape:
            raise SaebenchError(
                f"{where}: tensor {name} has shape {tuple(t[name].shape)} but the config "
                f"(d_in={d_in}, d_sae={d_sae}, d_out={d_out}) needs {shape}; check that the "
                "config matches the weights (a transposed matrix is a common cause)"
            )


def _check_finite(tensors: dict[str, Tensor], where: str) -> None:
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            bad = int((~torch.isfinite(tensor)).sum())
            raise SaebenchError(
                f"{where}: tensor {name} holds {bad} NaN or Inf value(s); the checkpoint is "
                "corrupt or diverged during training, re-export it"
            )
