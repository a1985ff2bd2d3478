"""Hook names: which layer they sit in, whether they exist, how wide they are.

Besides TransformerLens's own hooks, every norm of a model gets ``hook_out`` on its output
(``blocks.N.ln2.hook_out``, the name TransformerLens 3 gives it): the input the next module
really reads. TransformerLens's ``ln2.hook_normalized`` is taken before the norm's gain and
bias, so it is not what a Hugging Face MLP (and a sparsify or Gemma Scope transcoder
trained on it) sees. :func:`add_norm_output_hooks` adds them; :func:`require_hook` and
``saebench.models.load.load_model`` call it.
"""

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


NORM_OUTPUT = "hook_out"


def add_norm_output_hooks(model) -> None:
    """Give each norm (LayerNorm, RMSNorm and their weightless ``Pre`` forms) a hook point
    ``hook_out`` on its output; idempotent, and the model computes exactly as before."""
    from transformer_lens.hook_points import HookPoint

    added = False
    for module in model.modules():
        if isinstance(getattr(module, "hook_normalized", None), HookPoint) and not isinstance(
            getattr(module, NORM_OUTPUT, None), HookPoint
        ):
            setattr(module, NORM_OUTPUT, HookPoint())
            module.register_forward_hook(_through_output_hook)
            added = True
    if added:
        model.setup()  # TransformerLens finds hook points by name from here on


def _through_output_hook(module, inputs, output):
    # a torch forward hook that returns a value replaces the output: hooks may edit it
    return getattr(module, NORM_OUTPUT)(output)


def require_hook(model, hook_name: str) -> None:
    if hook_name in model.hook_dict:
        return
    if hook_name.endswith("." + NORM_OUTPUT):
        add_norm_output_hooks(model)
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


def hook_shapes(model, hook_names: list[str]) -> dict[str, tuple[int, ...]]:
    """Trailing shape of each hook's activation, from one forward of a two-token input."""
    names = sorted(set(hook_names))
    for name in names:
        require_hook(model, name)
    tokens = torch.zeros((1, 2), dtype=torch.long, device=model.cfg.device)
    _, cache = model.run_with_cache(
        tokens, names_filter=names, stop_at_layer=stop_layer(names, model.cfg.n_layers)
    )
    return {name: tuple(cache[name].shape[2:]) for name in names}


def _width(shape: tuple[int, ...], head_index: int | None) -> int:
    """Width of an activation as an SAE sees it: per-head hooks give one head's width with a
    head index, else all heads flattened (as :func:`saebench.models.edits.sae_view` reads)."""
    if len(shape) == 2:
        return shape[1] if head_index is not None else shape[0] * shape[1]
    return shape[-1]


def hook_width(model, hook_name: str, head_index: int | None = None) -> int:
    """Width of a hook as an SAE sees it."""
    return _width(hook_shapes(model, [hook_name])[hook_name], head_index)


def check_saes_fit(model, metas: list) -> None:
    """Raise a clear error if an SAE's hooks are missing or of the wrong width (one forward
    for all SAEs)."""
    shapes = hook_shapes(model, [h for m in metas for h in (m.hook_name, m.output_hook)])
    for meta in metas:
        for hook, width in ((meta.hook_name, meta.d_in), (meta.output_hook, meta.width_out)):
            found = _width(shapes[hook], meta.hook_head_index)
            if found != width:
                raise SaebenchError(
                    f"SAE {meta.source or ''} expects width {width} at {hook} but the model "
                    f"gives {found}; the SAE was trained on another model or hook"
                )
