"""OpenAI ``sparse_autoencoder`` state dicts (``.pt``), as released for GPT-2 small.

Keys: ``pre_bias [d]``, ``encoder.weight [d_sae, d]`` (no bias), ``latent_bias [d_sae]``,
``decoder.weight [d, d_sae]``, plus ``activation`` (class name) and
``activation_state_dict`` (``{"k": 32, "postact_fn": "ReLU"}`` for TopK). The statistics
buffers (``stats_last_nonzero``, ``latents_activation_frequency``, ``latents_mean_square``)
are ignored. As in the library's ``from_state_dict``, a ``TopK`` activation means
layer-normalised inputs (v5 releases, architecture ``topk``); ``ReLU`` (v1, v4) means
plain inputs (architecture ``standard``). ``b_dec = pre_bias`` is subtracted from the input.

Hook: the release layout ``.../{location}[_v4|_v5_32k|_v5_128k]/autoencoders/{layer}.pt``
maps ``resid_post_mlp`` -> ``blocks.L.hook_resid_post``, ``resid_post_attn`` ->
``blocks.L.hook_resid_mid``, ``resid_delta_attn`` -> ``blocks.L.hook_attn_out``,
``resid_delta_mlp`` -> ``blocks.L.hook_mlp_out``, ``mlp_post_act`` ->
``blocks.L.mlp.hook_post`` (model ``gpt2-small``). Elsewhere, put
``{"hook_name": ..., "model_name": ...}`` in a ``saebench.json`` beside the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saebench.adapters.base import (
    Adapter,
    existing_path,
    metadata_or_error,
    read_sidecar,
    read_torch,
)
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from saebench.sae import Sae

_REQUIRED = ["pre_bias", "encoder.weight", "latent_bias", "decoder.weight"]
_MARKERS = {"pre_bias", "latent_bias"}
_LOCATION = re.compile(
    r"^(mlp_post_act|resid_delta_attn|resid_delta_mlp|resid_post_attn|resid_post_mlp)"
    r"(_v4|_v5_32k|_v5_128k)?$"
)
_LOCATION_HOOKS = {
    "mlp_post_act": "mlp.hook_post",
    "resid_delta_attn": "hook_attn_out",
    "resid_delta_mlp": "hook_mlp_out",
    "resid_post_attn": "hook_resid_mid",
    "resid_post_mlp": "hook_resid_post",
}


class OpenAiAdapter(Adapter):
    description = "OpenAI sparse_autoencoder .pt state dict (ReLU v1/v4, TopK + layer norm v5)"

    @classmethod
    def detect(cls, path: Path) -> bool:
        candidates = _pt_files(path)
        return len(candidates) == 1 and _has_markers(candidates[0])

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        from saebench.sae import build_sae

        path = existing_path(location, "openai")
        file = _weights_file(path)
        state = read_torch(file)
        if not isinstance(state, dict):
            raise SaebenchError(f"{file}: expected a state dict, found {type(state).__name__}")
        missing = [key for key in _REQUIRED if key not in state]
        if missing:
            raise SaebenchError(
                f"{file}: missing key(s) {', '.join(missing)}; an OpenAI sparse_autoencoder "
                f"state dict has {', '.join(_REQUIRED)}"
            )
        fields = _activation(state, file)
        tensors = _canonical(state)
        fields.update(
            d_in=tensors["W_enc"].shape[0],
            d_sae=tensors["W_enc"].shape[1],
            apply_b_dec_to_input=True,
            source=str(file),
        )
        fields.update(_placement(file))
        meta = metadata_or_error(file, **fields)
        return build_sae(meta, tensors, where=str(file), device=device, dtype=dtype)


def _pt_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix == ".pt" else []
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix == ".pt" and p.is_file())
    return []


def _has_markers(file: Path) -> bool:
    """Whether a .pt holds OpenAI keys. Memory-mapped, tensors only, never raises."""
    import torch

    try:
        state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not a zip-format tensor file, or pickled objects: not ours
        return False
    return isinstance(state, dict) and set(state) >= _MARKERS


def _weights_file(path: Path) -> Path:
    if path.is_file():
        return path
    files = [p for p in _pt_files(path) if _has_markers(p)]
    if len(files) != 1:
        found = ", ".join(p.name for p in _pt_files(path)) or "none"
        raise SaebenchError(
            f"{path}: expected one OpenAI .pt file (with pre_bias and latent_bias) in this "
            f"folder, found {len(files)} among .pt files: {found}; pass the file itself"
        )
    return files[0]


def _activation(state: dict[str, Any], file: Path) -> dict[str, Any]:
    name = state.get("activation", "ReLU")
    if name == "ReLU":
        return {"architecture": "standard"}
    if name == "TopK":
        params = state.get("activation_state_dict") or {}
        k, postact = params.get("k"), params.get("postact_fn", "ReLU")
        if not isinstance(k, int) or k <= 0:
            raise SaebenchError(
                f"{file}: activation_state_dict.k must be a positive int, got {k!r}"
            )
        if postact != "ReLU":
            raise SaebenchError(
                f"{file}: TopK with postact_fn={postact!r} gives signed codes, which saebench "
                "does not support; only ReLU after TopK is"
            )
        return {"architecture": "topk", "k": k, "normalize_activations": "layer_norm"}
    raise SaebenchError(
        f"{file}: unknown activation {name!r}; the OpenAI format has 'ReLU' and 'TopK'"
    )


def _canonical(state: dict[str, Any]) -> dict[str, Tensor]:
    return {
        "W_enc": state["encoder.weight"].T.contiguous(),
        "b_enc": state["latent_bias"],
        "W_dec": state["decoder.weight"].T.contiguous(),
        "b_dec": state["pre_bias"],
    }


def _placement(file: Path) -> dict[str, Any]:
    sidecar = read_sidecar(file.parent)
    if "hook_name" in sidecar:
        return sidecar
    location = (
        _LOCATION.match(file.parent.parent.name) if file.parent.name == "autoencoders" else None
    )
    if location is None or not file.stem.isdigit():
        raise SaebenchError(
            f"{file}: cannot tell which hook this OpenAI SAE reads (expected the release layout "
            "LOCATION/autoencoders/LAYER.pt); add "
            '{"hook_name": "blocks.8.hook_resid_post", "model_name": "gpt2-small"} '
            f"in a saebench.json in {file.parent}"
        )
    hook = f"blocks.{int(file.stem)}.{_LOCATION_HOOKS[location.group(1)]}"
    return {"hook_name": hook, "model_name": "gpt2-small", **sidecar}
