"""Re-run a model from a hook onwards, under edits of that hook's activation.

Every intervention an evaluator makes goes through :class:`ModelRunner`: the SAE splice
(CE/KL), patching latents from another prompt (RAVEL), replacing an activation with any
function of it (supervised dictionaries), steering and generating (intervention scoring),
and reading answer logits. Only the layers after the hook run; the clean pass supplies the
residual stream where the re-run starts, and several edits share one batched call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from saebench.models.hooks import hook_layer

# An edit maps the activation at the hook, [batch, pos, ...], to its replacement.
Edit = Callable[[Tensor], Tensor]


class ModelRunner:
    """Runs the tail of a model after a hook, for one or many edits at once.

    Example:
        >>> runner = ModelRunner(model)
        >>> start = runner.restart_hook("blocks.1.hook_mlp_out")   # capture this in the clean pass
        >>> logits = runner.logits_after("blocks.1.hook_mlp_out", clean_acts, [edit_a, edit_b])
        >>> logits.shape   # [2, batch, pos, vocab]
    """

    def __init__(self, model) -> None:
        self.model = model
        self.n_layers = model.cfg.n_layers

    # -- where a re-run starts --------------------------------------------------------------
    def restart_hook(self, hook: str) -> str | None:
        """The activation the clean pass must keep to restart at ``hook``; None = full run."""
        layer = hook_layer(hook)
        if layer is None:
            return None
        if hook.endswith(".hook_resid_pre") or hook.endswith(".hook_resid_post"):
            return hook  # the hook's own value is the residual stream at a block boundary
        return f"blocks.{layer}.hook_resid_pre"

    def _start(self, hook: str) -> tuple[int, bool]:
        """(first block to run, whether the edit is applied to the input directly)."""
        layer = hook_layer(hook)
        if hook.endswith(".hook_resid_post"):
            return layer + 1, True
        if hook.endswith(".hook_resid_pre"):
            return layer, True
        return layer, False

    # -- running ------------------------------------------------------------------------------
    def run_after(
        self,
        hook: str,
        clean: dict[str, Tensor],
        edits: Sequence[Edit],
        tokens: Tensor | None = None,
        attention_mask: Tensor | None = None,
    ) -> Tensor:
        """Final residual stream ``[len(edits), batch, pos, d_model]`` (before the final norm),
        one slice per edit of ``hook``.

        ``clean`` holds the clean pass's activations: at least ``restart_hook(hook)``, or
        the hook itself for a restart at a block boundary. Hooks outside the blocks
        (embeddings) need ``tokens`` and run the full model. Turn the result into logits
        with :meth:`unembed`, for the rows that are needed only.
        """
        n = len(edits)
        restart = self.restart_hook(hook)
        mask = attention_mask.repeat(n, 1) if attention_mask is not None else None
        if restart is None:
            if tokens is None:
                raise ValueError(f"a run edited at {hook} needs the tokens")
            with self.model.hooks(fwd_hooks=[(hook, _split_edit(edits, n))]):
                resid = self.model(
                    tokens.repeat(n, 1), attention_mask=mask, stop_at_layer=self.n_layers
                )
            return resid.view(n, -1, *resid.shape[1:])
        start, direct = self._start(hook)
        base = clean[restart]
        if direct:
            resid = torch.cat([edit(base) for edit in edits])
            hooks = []
        else:
            resid = base.repeat(n, *([1] * (base.ndim - 1)))
            hooks = [(hook, _split_edit(edits, n))]
        with self.model.hooks(fwd_hooks=hooks):
            out = self.model(
                resid, start_at_layer=start, stop_at_layer=self.n_layers, attention_mask=mask
            )
        return out.view(n, -1, *out.shape[1:])

    def unembed(self, resid: Tensor) -> Tensor:
        """Logits ``[..., vocab]`` of final residuals ``[..., d_model]``: final norm,
        unembedding and soft cap, as the model's own forward applies them.

        Applied to a few rows at a time, this keeps the logits (the largest tensor of a run
        on a real vocabulary) small. ``W_U`` is used in place: TransformerLens's ``Unembed``
        copies its transpose on every call, which dominates when called per row block.
        """
        from transformer_lens.utilities.activation_functions import apply_softcap

        model = self.model
        if model.cfg.normalization_type is not None:
            resid = model.ln_final(resid)
        unembed = model.unembed
        flat = torch.addmm(unembed.b_U, resid.reshape(-1, resid.shape[-1]), unembed.W_U)
        logits = flat.view(*resid.shape[:-1], flat.shape[-1])
        return apply_softcap(logits, model.cfg.output_logits_soft_cap)

    def logits_after(
        self,
        hook: str,
        clean: dict[str, Tensor],
        edits: Sequence[Edit],
        tokens: Tensor | None = None,
        attention_mask: Tensor | None = None,
    ) -> Tensor:
        """Logits ``[len(edits), batch, pos, vocab]``, one slice per edit of ``hook`` (every
        position: prefer :meth:`run_after` plus :meth:`unembed` of the rows you need)."""
        return self.unembed(self.run_after(hook, clean, edits, tokens, attention_mask))

    def logits_with(self, tokens: Tensor, hook: str, edit: Edit | None, attention_mask=None):
        """A full forward of ``tokens`` with one edit (or none) at ``hook``."""
        hooks = [(hook, lambda act, hook=None: edit(act))] if edit is not None else []
        with self.model.hooks(fwd_hooks=hooks):
            return self.model(tokens, attention_mask=attention_mask, return_type="logits")

    @torch.no_grad()
    def generate(
        self, tokens: Tensor, hook: str, edit: Edit | None, n_new: int, attention_mask=None
    ) -> Tensor:
        """Greedy continuation ``[batch, n_new]`` with the edit applied at every step.

        The edit sees the whole growing sequence each step, so position-based edits keep
        working as tokens are appended (prompts are expected left-aligned, no padding).
        """
        out = tokens
        for _ in range(n_new):
            logits = self.logits_with(out, hook, edit, attention_mask)
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            out = torch.cat([out, nxt], dim=1)
            if attention_mask is not None:
                attention_mask = torch.cat([attention_mask, torch.ones_like(nxt)], dim=1)
        return out[:, tokens.shape[1] :]


def _split_edit(edits: Sequence[Edit], n: int):
    """A hook function applying edit k to the k-th slice of a batch stacked n times."""

    def hook_fn(act: Tensor, hook=None) -> Tensor:
        chunks = act.chunk(n, dim=0)
        return torch.cat([edit(chunk) for edit, chunk in zip(edits, chunks, strict=True)], dim=0)

    return hook_fn


def answer_logits(logits: Tensor, positions: Tensor, answer_ids: Tensor) -> Tensor:
    """``logits[b, positions[b], answer_ids[b, j]]`` -> ``[batch, n_answers]``."""
    rows = torch.arange(logits.shape[0], device=logits.device)
    at_position = logits[rows, positions]  # [batch, vocab]
    return at_position.gather(-1, answer_ids)
