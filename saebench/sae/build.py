"""Build an SAE from canonical tensors, with checks that turn bad files into clear errors."""

from __future__ import annotations

import torch
from torch import Tensor

from saebench.errors import SaebenchError

# The built-in encoder classes register themselves when their modules are imported: an
# architecture is declared in its class (labels, tensors, shapes, construction), not here.
from saebench.sae import gated, groupmax, jumprelu, linear, standard, topk  # noqa: F401
from saebench.sae.base import Sae
from saebench.sae.metadata import SaeMetadata
from saebench.sae.registry import ARCHITECTURES, ENCODERS, encoder_class, encoder_for

__all__ = ["ARCHITECTURES", "ENCODERS", "build_sae", "encoder_for"]


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
    saved as TopK, say). Shapes, finiteness and the hook widths are checked here, against
    what the encoder class declares (:mod:`saebench.sae.registry`).
    """
    cls = encoder_class(encoder or encoder_for(meta.architecture, where), where)
    specs = cls.tensor_specs
    missing = [name for name, spec in specs.items() if not spec.optional and name not in tensors]
    if missing:
        raise SaebenchError(
            f"{where}: missing tensor(s) {', '.join(missing)} for a {meta.architecture} SAE; "
            f"found {', '.join(sorted(tensors)) or 'none'}"
        )
    tensors = {name: t.to(device=device, dtype=dtype or t.dtype) for name, t in tensors.items()}
    for name, spec in specs.items():
        if spec.scalar_broadcasts and name in tensors and tensors[name].ndim == 0:
            tensors[name] = tensors[name].expand(spec.expected(meta)).clone()
    _check_shapes(meta, tensors, cls, where)
    _check_finite(tensors, where)
    meta = meta.model_copy(update={"dtype": str(next(iter(tensors.values())).dtype)[6:]})
    try:
        return cls.from_tensors(meta, tensors)
    except ValueError as exc:
        raise SaebenchError(f"{where}: {exc}") from exc


def _check_shapes(meta: SaeMetadata, t: dict[str, Tensor], cls: type[Sae], where: str) -> None:
    d_in, d_sae, d_out = meta.d_in, meta.d_sae, meta.width_out
    for name, spec in cls.tensor_specs.items():
        shape = spec.expected(meta)
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
