"""Hook names: which layer they sit in, whether they exist, how wide they are."""

from __future__ import annotations

import difflib
import re

import torch

from saebench.errors import SaebenchError

_BLOCK = re.compile(r"^blocks\.(\d+)\.")


def hook_layer(hook_name: str) -> int | None:
    """The block index of a hook (``blocks.3.hook_mlp_out`` -> 3), None outside the blocks."""
    match = _BLOCK.match(hook_name)
    return int(match.group(1)) if match else None


def require_hook(model, hook_name: str) -> None:
    if hook_name in model.hook_dict:
        return
    close = difflib.get_close_matches(hook_name, list(model.hook_dict), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise SaebenchError(
        f"hook {hook_name!r} is not in model {model.cfg.model_name!r}{hint} "
        "(hook names follow TransformerLens, e.g. blocks.1.hook_resid_post)"
    )


def stop_layer(hook_names: list[str], n_layers: int) -> int | None:
    """The smallest ``stop_at_layer`` that still computes every hook; None = the whole model."""
    layers = []
    for name in hook_names:
        if name in ("hook_embed", "hook_pos_embed", "hook_tokens"):
            layers.append(0)
            continue
        layer = hook_layer(name)
        if layer is None:
            return None
        layers.append(layer + 1)
    top = max(layers, default=0)
    return None if top >= n_layers else top


def flatten_heads(act: torch.Tensor, reshape: str, head_index: int | None) -> torch.Tensor:
    """The SAE's view of a hook: ``hook_z`` [.., heads, d_head] becomes [.., heads*d_head]."""
    if head_index is not None and act.ndim == 4:
        return act[:, :, head_index]
    if reshape == "hook_z" and act.ndim == 4:
        return act.flatten(-2)
    return act


def hook_width(model, hook_name: str, reshape: str = "none", head_index: int | None = None) -> int:
    """Width of a hook as an SAE sees it, measured on a two-token input."""
    require_hook(model, hook_name)
    tokens = torch.zeros((1, 2), dtype=torch.long, device=model.cfg.device)
    _, cache = model.run_with_cache(
        tokens, names_filter=[hook_name], stop_at_layer=stop_layer([hook_name], model.cfg.n_layers)
    )
    return flatten_heads(cache[hook_name], reshape, head_index).shape[-1]


def check_sae_fits(model, meta) -> None:
    """Raise a clear error if the SAE's hooks are missing or of the wrong width."""
    for hook, width in ((meta.hook_name, meta.d_in), (meta.output_hook, meta.width_out)):
        found = hook_width(model, hook, meta.reshape_activations, meta.hook_head_index)
        if found != width:
            raise SaebenchError(
                f"SAE {meta.source or ''} expects width {width} at {hook} but the model gives "
                f"{found}; the SAE was trained on another model or hook"
            )
