"""Gemma Scope checkpoints: ``params.npz`` (Gemma Scope 1) or ``params.safetensors`` (2).

The files hold only tensors (``W_enc [d_in, d_sae]``, ``W_dec [d_sae, d_out]``, ``b_enc``,
``b_dec``, ``threshold``; keys upper- or lowercase; Gemma Scope 2 transcoders add
``affine_skip_connection`` stored ``[d_in, d_out]``). Every SAE is a JumpReLU with
``apply_b_dec_to_input=False``. The hook is not in the file, so it is read, in order, from
a sidecar ``saebench.json`` beside the file (``{"hook_name": ..., "model_name": ...}``),
from a ``cfg.json`` there, from a Gemma Scope 2 ``config.json`` (``hf_hook_point_in``), or
from the path as Hugging Face lays it out:

- ``gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82/params.npz`` ->
  ``blocks.12.hook_resid_post`` (``-mlp`` -> ``hook_mlp_out``, ``-att`` -> ``attn.hook_z``
  with the ``hook_z`` reshape, ``-transcoders`` -> ``ln2.hook_out`` (the pre-MLP norm's
  output with its gain, what the transcoders read; TransformerLens's ``ln2.hook_normalized``
  is taken before the gain) to ``hook_mlp_out``; ``-res/embedding/...`` -> ``hook_embed``, with the ``sqrt(d_model)``
  rescale SAELens applies to those SAEs);
- ``gemma-scope-2-1b-pt/resid_post/layer_7_width_16k_l0_small/params.safetensors`` ->
  ``blocks.7.hook_resid_post`` (``attn_out``, ``mlp_out``, ``transcoder`` alike).

Example:
    >>> sae = load_sae("gemmascope:gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82")
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saebench.adapters.base import (
    SIDECAR,
    Adapter,
    existing_path,
    metadata_or_error,
    read_json,
    read_npz,
    read_safetensors,
    read_sidecar,
)
from saebench.errors import SaebenchError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from saebench.sae import Sae

WEIGHT_FILES = ("params.npz", "params.safetensors")
_KEYS = {
    "w_enc": "W_enc",
    "w_dec": "W_dec",
    "b_enc": "b_enc",
    "b_dec": "b_dec",
    "threshold": "threshold",
    "affine_skip_connection": "W_skip",
}
_GS1_REPO = re.compile(r"gemma-scope-(\d+b)-(pt|it)-(res|mlp|att|transcoders)(?:-canonical)?$")
_GS2_REPO = re.compile(r"gemma-scope-2-(\d+[mb])-(pt|it)$")
_GS2_KINDS = ("resid_post", "attn_out", "mlp_out", "transcoder", "clt")
_LAYER = re.compile(r"layer_(\d+)")
# Gemma Scope 2 config.json names Hugging Face module points; map the ones we can.
_HF_POINTS = [
    (re.compile(r"layers\.(\d+)\.output$"), "blocks.{}.hook_resid_post", None),
    (re.compile(r"layers\.(\d+)\.self_attn\.o_proj\.input$"), "blocks.{}.attn.hook_z", None),
    (
        re.compile(r"layers\.(\d+)\.post_feedforward_layernorm\.output$"),
        "blocks.{}.hook_mlp_out",
        None,
    ),
    (
        re.compile(r"layers\.(\d+)\.pre_feedforward_layernorm\.output$"),
        "blocks.{}.ln2.hook_out",
        "blocks.{}.hook_mlp_out",
    ),
]


class GemmaScopeAdapter(Adapter):
    description = (
        "Gemma Scope params.npz / params.safetensors (JumpReLU; hook from path or saebench.json)"
    )

    @classmethod
    def detect(cls, path: Path) -> bool:
        if path.is_file():
            return path.name in WEIGHT_FILES
        return path.is_dir() and any((path / name).is_file() for name in WEIGHT_FILES)

    @classmethod
    def load(cls, location: str, device: str = "cpu", dtype: torch.dtype | None = None) -> Sae:
        from saebench.sae import build_sae

        weights = _weights_file(existing_path(location, "gemmascope"))
        tensors = _canonical(_read(weights), weights)
        d_in, d_sae = tensors["W_enc"].shape
        d_out = tensors["W_dec"].shape[-1]
        place = _placement(weights)
        if place.pop("_embedding_rescale", False):
            # Gemma scales token embeddings by sqrt(d_model); these SAEs were trained without.
            tensors["W_enc"] = tensors["W_enc"] / math.sqrt(d_in)
            tensors["W_dec"] = tensors["W_dec"] * math.sqrt(d_in)
        transcoder = place.get("hook_name_out") not in (None, place["hook_name"])
        fields = dict(
            architecture="jumprelu_transcoder" if transcoder or d_out != d_in else "jumprelu",
            d_in=d_in,
            d_sae=d_sae,
            d_out=d_out if d_out != d_in or transcoder else None,
            apply_b_dec_to_input=False,
            source=str(weights),
            **place,
        )
        meta = metadata_or_error(weights, **fields)
        return build_sae(meta, tensors, where=str(weights), device=device, dtype=dtype)


def _weights_file(path: Path) -> Path:
    if path.is_file():
        return path
    for name in WEIGHT_FILES:
        if (path / name).is_file():
            return path / name
    raise SaebenchError(f"{path}: no params.npz or params.safetensors in this folder")


def _read(path: Path) -> dict[str, Tensor]:
    return read_npz(path) if path.suffix == ".npz" else read_safetensors(path)


def _canonical(raw: dict[str, Tensor], where: Path) -> dict[str, Tensor]:
    import torch

    tensors: dict[str, Tensor] = {}
    for key, tensor in raw.items():
        name = _KEYS.get(key.lower())
        if name == "W_skip":
            tensor = tensor.T.contiguous()  # stored [d_in, d_out]; canonical is [d_out, d_in]
        if name is not None:
            tensors[name] = tensor.float() if tensor.dtype == torch.float64 else tensor
        elif key.lower() == "scaling_factor" and not bool((tensor == 1).all()):
            raise SaebenchError(
                f"{where}: scaling_factor is not all ones; fold it into W_dec and save again"
            )
    for name in ("W_enc", "W_dec"):
        if name not in tensors or tensors[name].ndim != 2:
            raise SaebenchError(
                f"{where}: missing or non-matrix tensor {name} (found "
                f"{', '.join(sorted(raw)) or 'none'}); a Gemma Scope file needs W_enc, W_dec, "
                "b_enc, b_dec and threshold"
            )
    return tensors


def _placement(weights: Path) -> dict[str, Any]:
    """Hook, model and training context of the SAE: sidecars first, then the path."""
    folder = weights.parent
    place = _from_path(weights) or {}
    hf = _from_hf_config(folder)
    if hf:
        place.update(hf)
    place.update(read_sidecar(folder, lenient=("cfg.json",)))
    if not place.get("hook_name"):
        raise SaebenchError(
            f"{weights}: cannot tell which hook this Gemma Scope SAE reads (the path has no "
            "gemma-scope-...-res/-mlp/-att folder with layer_N). Add "
            '{"hook_name": "blocks.12.hook_resid_post", "model_name": "gemma-2-2b"} '
            f"in a {SIDECAR} beside the file"
        )
    return place


def _from_path(weights: Path) -> dict[str, Any] | None:
    parts = weights.resolve().parent.parts
    for i in range(len(parts) - 1, -1, -1):
        name = parts[i].rsplit("--", 1)[-1]  # the Hugging Face cache writes models--google--NAME
        below = parts[i + 1 :]
        layers = [int(m.group(1)) for part in below if (m := _LAYER.search(part))]
        if m := _GS1_REPO.search(name):
            return _gemma_scope_1(m, layers, "embedding" in below)
        if m := _GS2_REPO.search(name):
            return _gemma_scope_2(m, layers, below)
    return None


def _gemma_scope_1(m: re.Match, layers: list[int], embedding: bool) -> dict[str, Any] | None:
    size, variant, kind = m.groups()
    place: dict[str, Any] = {
        "model_name": f"gemma-2-{size}" + ("-it" if variant == "it" else ""),
        "context_size": 1024,
        "dataset_path": "monology/pile-uncopyrighted",
    }
    if kind == "res" and embedding:
        return {**place, "hook_name": "hook_embed", "_embedding_rescale": True}
    if not layers:
        return None
    layer = layers[-1]
    hooks = {
        "res": {"hook_name": f"blocks.{layer}.hook_resid_post"},
        "mlp": {"hook_name": f"blocks.{layer}.hook_mlp_out"},
        "att": {"hook_name": f"blocks.{layer}.attn.hook_z", "reshape_activations": "hook_z"},
        "transcoders": {
            "hook_name": f"blocks.{layer}.ln2.hook_out",
            "hook_name_out": f"blocks.{layer}.hook_mlp_out",
        },
    }
    return {**place, **hooks[kind]}


def _gemma_scope_2(m: re.Match, layers: list[int], parts: tuple[str, ...]) -> dict | None:
    size, variant = m.groups()
    suffix = "-it" if variant == "it" else ("" if size == "270m" else "-pt")
    place: dict[str, Any] = {"model_name": f"google/gemma-3-{size}{suffix}"}
    kind = next((k for k in _GS2_KINDS for part in parts if k in part), None)
    if kind is None or not layers:
        return None
    layer = layers[-1]
    hooks = {
        "resid_post": {"hook_name": f"blocks.{layer}.hook_resid_post"},
        "attn_out": {"hook_name": f"blocks.{layer}.attn.hook_z", "reshape_activations": "hook_z"},
        "mlp_out": {"hook_name": f"blocks.{layer}.hook_mlp_out"},
    }
    transcoder = {
        "hook_name": f"blocks.{layer}.ln2.hook_out",
        "hook_name_out": f"blocks.{layer}.hook_mlp_out",
    }
    return {**place, **hooks.get(kind, transcoder)}


def _from_hf_config(folder: Path) -> dict[str, Any]:
    """Gemma Scope 2 ships a config.json naming Hugging Face module points."""
    file = folder / "config.json"
    if not file.is_file():
        return {}
    cfg = read_json(file)
    point = str(cfg.get("hf_hook_point_in") or "")
    for pattern, hook_in, hook_out in _HF_POINTS:
        if m := pattern.search(point):
            layer = m.group(1)
            place: dict[str, Any] = {"hook_name": hook_in.format(layer)}
            if hook_in.endswith("hook_z"):
                place["reshape_activations"] = "hook_z"
            if hook_out:
                place["hook_name_out"] = hook_out.format(layer)
            return place
    return {}
