"""Run a model on prompts and re-run it from a hook onwards, under edits of that hook.

Every intervention an evaluator makes goes through :class:`ModelRunner`: the SAE splice
(CE/KL), patching latents from another prompt (RAVEL), replacing an activation with any
function of it (supervised dictionaries), steering and generating (intervention scoring),
and reading answer logits. Only the layers after the hook run where the edit allows; the
clean pass supplies the residual stream where the re-run starts, several edits share one
batched call (the batch is stacked once per edit), and logits are computed only for the
rows asked for. Edits follow the protocol of :mod:`saebench.models.edits`; prompt batches
(right-padded, with span positions) come from :mod:`saebench.models.prompts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

from saebench.errors import SaebenchError
from saebench.models.edits import Edit, as_edit
from saebench.models.hooks import hook_layer, stop_layer
from saebench.models.prompts import PromptBatch, make_batch

# an Edit, a plain ``act -> act`` function, or None (no edit)
EditLike = Edit | Callable[[Tensor], Tensor] | None


class ModelRunner:
    """Runs prompts, and the tail of a model after a hook, for one or many edits at once.

    Example:
        >>> runner = ModelRunner(model)
        >>> batch = make_batch(model, prompts)
        >>> acts = runner.capture(batch, ["blocks.1.hook_resid_post"])
        >>> logits = runner.logits_at(batch, hook="blocks.1.hook_resid_post",
        ...                           edits=[None, edit_a, edit_b])   # [3, batch, vocab]
        >>> tokens = runner.generate(batch, 4, hook="blocks.1.hook_resid_post", edits=[edit_a])
    """

    def __init__(self, model) -> None:
        self.model = model
        self.n_layers = model.cfg.n_layers
        self._frozen_depth = 0  # nested frozen() calls skip the walk over the parameters

    # -- gradients --------------------------------------------------------------------------
    @contextmanager
    def frozen(self) -> Iterator[object]:
        """No gradient reaches the model's parameters inside (masks, rotations and other
        tensors of an edit still get theirs); ``requires_grad`` is restored on exit."""
        thawed = []
        if self._frozen_depth == 0:
            thawed = [p for p in self.model.parameters() if p.requires_grad]
        for p in thawed:
            p.requires_grad_(False)
        self._frozen_depth += 1
        try:
            yield self.model
        finally:
            self._frozen_depth -= 1
            for p in thawed:
                p.requires_grad_(True)

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

    # -- clean passes -----------------------------------------------------------------------
    @torch.no_grad()
    def capture(self, batch: PromptBatch | Tensor, hooks: Sequence[str]) -> dict[str, Tensor]:
        """The clean activations ``{hook: [batch, pos, ...]}``, running the model only up to
        the block of the last hook."""
        tokens, mask = _inputs(batch)
        names = sorted(set(hooks))
        acts: dict[str, Tensor] = {}
        if not names:
            return acts

        def keep(act: Tensor, hook) -> None:
            acts[hook.name] = act.detach()

        stop = stop_layer(names, self.n_layers)
        with self.frozen(), self.model.hooks(fwd_hooks=[(name, keep) for name in names]):
            self.model(tokens, attention_mask=mask, stop_at_layer=stop, return_type=None)
        return acts

    # -- re-running the tail ----------------------------------------------------------------
    def run_after(
        self,
        hook: str,
        clean: dict[str, Tensor],
        edits: Sequence[EditLike],
        tokens: Tensor | None = None,
        attention_mask: Tensor | None = None,
    ) -> Tensor:
        """Final residual stream ``[len(edits), batch, pos, d_model]`` (before the final norm),
        one slice per edit of ``hook``.

        ``clean`` holds the clean pass's activations: at least ``restart_hook(hook)``, or
        the hook itself for a restart at a block boundary. Hooks outside the blocks
        (embeddings) need ``tokens`` and run the full model. Turn the result into logits
        with :meth:`unembed`, for the rows that are needed only. Gradients flow to the
        edits' tensors, never to the model's parameters.
        """
        edits = [as_edit(e) for e in edits]
        n = len(edits)
        restart = self.restart_hook(hook)
        mask = attention_mask.repeat(n, 1) if attention_mask is not None else None
        with self.frozen():
            if restart is None:
                if tokens is None:
                    raise ValueError(f"a run edited at {hook} needs the tokens")
                with self.model.hooks(fwd_hooks=[(hook, _split_hook(edits))]):
                    out = self.model(
                        tokens.repeat(n, 1), attention_mask=mask, stop_at_layer=self.n_layers
                    )
                return out.view(n, -1, *out.shape[1:])
            start, direct = self._start(hook)
            base = clean[restart]
            hooks = []
            if direct:  # a private copy: edits may write in place, the clean pass is reused
                resid = _apply_split(edits, base.repeat(n, *([1] * (base.ndim - 1))), 0)
            else:  # the model never writes into its input, so one edit needs no copy
                resid = base if n == 1 else base.repeat(n, *([1] * (base.ndim - 1)))
                hooks = [(hook, _split_hook(edits))]
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
        with self.frozen():
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
        edits: Sequence[EditLike],
        tokens: Tensor | None = None,
        attention_mask: Tensor | None = None,
    ) -> Tensor:
        """Logits ``[len(edits), batch, pos, vocab]``, one slice per edit of ``hook`` (every
        position: prefer :meth:`logits_at`, or :meth:`run_after` plus :meth:`unembed` of the
        rows you need)."""
        return self.unembed(self.run_after(hook, clean, edits, tokens, attention_mask))

    def logits_with(self, tokens: Tensor, hook: str, edit: EditLike, attention_mask=None):
        """A full forward of ``tokens`` with one edit (or none) at ``hook``: the reference
        the tail-only operations are tested against."""
        hooks = [(hook, _split_hook([as_edit(edit)]))] if edit is not None else []
        with self.frozen(), self.model.hooks(fwd_hooks=hooks):
            return self.model(tokens, attention_mask=attention_mask, return_type="logits")

    # -- operations on prompt batches -------------------------------------------------------
    def logits_at(
        self,
        batch: PromptBatch | Tensor,
        positions: Tensor | str | None = None,
        hook: str | None = None,
        edits: Sequence[EditLike] = (None,),
        clean: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """Logits at one position per example, ``[len(edits), batch, vocab]`` (or several,
        ``positions`` ``[batch, k]`` -> ``[len(edits), batch, k, vocab]``).

        ``positions`` is a tensor, a span name (its last token), or None: each example's
        last real token. With a ``hook``, only the layers after it run, from ``clean`` (the
        batch's :meth:`capture`, taken here when not given); without one, the clean model
        runs and ``edits`` must be None. Only the asked rows are unembedded.
        """
        tokens, mask = _inputs(batch)
        cols = _positions(batch, positions)
        with self.frozen():
            if hook is None:
                if any(e is not None for e in edits):
                    raise ValueError("edits need the hook they apply to (hook=...)")
                with torch.no_grad():
                    resid = self.model(tokens, attention_mask=mask, stop_at_layer=self.n_layers)
                resid = resid.unsqueeze(0).expand(len(edits), *resid.shape)
            else:
                restart = self.restart_hook(hook)
                if clean is None or (restart is not None and restart not in clean):
                    clean = self.capture(batch, [restart] if restart else [])
                resid = self.run_after(hook, clean, edits, tokens, mask)
            return self.unembed(_gather(resid, cols))

    def answer(
        self,
        batch: PromptBatch,
        n_tokens: int | None = None,
        hook: str | None = None,
        edits: Sequence[EditLike] = (None,),
        clean: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """Greedy answers ``[len(edits), batch, n_tokens]`` after each example's last real
        token (``n_tokens`` defaults to the batch's longest answer). One token needs only
        the layers after the hook; more are generated with :meth:`generate`. Compare with
        ``batch.matches(tokens)``."""
        if n_tokens is None:
            n_tokens = batch.answer_ids.shape[1] if batch.answer_ids is not None else 1
        if n_tokens == 1:
            logits = self.logits_at(batch, None, hook, edits, clean)
            return logits.argmax(-1, keepdim=True)
        return self.generate(batch, n_tokens, hook, edits)

    @torch.no_grad()
    def generate(
        self,
        batch: PromptBatch | Tensor,
        n_new: int,
        hook: str | None = None,
        edits: Sequence[EditLike] = (None,),
        use_cache: bool = True,
    ) -> Tensor:
        """Greedy continuation ``[len(edits), batch, n_new]`` under each edit of ``hook``.

        The padded prompts run once with a KV cache and the attention mask; each example's
        first new token is read at its own last real position, then one token per step is
        appended for all examples (TransformerLens takes positions from the cumulative mask
        and masks the pad holes, so this equals generating each prompt alone). Edits see
        absolute columns (prompt columns, then ``width + step``), so position-targeted edits
        act on the prompt and reach the new tokens through the cache. The full model runs
        (the new tokens need every layer). ``use_cache=False`` re-runs the whole sequence
        each step instead (the reference, slower).
        """
        tokens, mask = _inputs(batch)
        _check_context(self.model, tokens.shape[1] + n_new)
        edits = [as_edit(e) for e in edits]
        n = len(edits)
        if n_new == 0:
            return tokens.new_zeros((n, tokens.shape[0], 0))
        mask = torch.ones_like(tokens) if mask is None else mask  # the cache needs one
        tokens, mask = tokens.repeat(n, 1), mask.repeat(n, 1)
        ends = _positions(batch, None).repeat(n)
        state = {"start": 0}

        def hook_fn(act: Tensor, hook=None) -> Tensor:
            return _apply_split(edits, act, state["start"])

        hooks = [(hook, hook_fn)] if hook is not None else []
        with self.frozen(), self.model.hooks(fwd_hooks=hooks):
            step = self._cached_steps if use_cache else self._rerun_steps
            new = step(tokens, mask, ends, n_new, state)
        return new.view(n, -1, n_new)

    def _cached_steps(self, tokens, mask, ends, n_new, state) -> Tensor:
        from transformer_lens import TransformerLensKeyValueCache

        cfg = self.model.cfg
        cache = TransformerLensKeyValueCache.init_cache(cfg, cfg.device, tokens.shape[0])
        rows = torch.arange(tokens.shape[0], device=tokens.device)
        inputs, at, out = tokens, ends, []
        ones = torch.ones_like(tokens[:, :1])
        for _ in range(n_new):
            resid = self.model(
                inputs,
                attention_mask=mask if not out else ones,
                past_kv_cache=cache,
                stop_at_layer=self.n_layers,
            )
            inputs = self.unembed(resid[rows, at]).argmax(-1, keepdim=True)
            out.append(inputs)
            state["start"] += resid.shape[1]
            at = torch.zeros_like(ends)  # the appended token is the only column from now on
        return torch.cat(out, dim=1)

    def _rerun_steps(self, tokens, mask, ends, n_new, state) -> Tensor:
        rows = torch.arange(tokens.shape[0], device=tokens.device)
        at, out = ends, []
        for _ in range(n_new):
            resid = self.model(tokens, attention_mask=mask, stop_at_layer=self.n_layers)
            nxt = self.unembed(resid[rows, at]).argmax(-1, keepdim=True)
            out.append(nxt)
            tokens = torch.cat([tokens, nxt], dim=1)
            mask = torch.cat([mask, torch.ones_like(nxt)], dim=1)
            at = torch.full_like(ends, tokens.shape[1] - 1)
        return torch.cat(out, dim=1)


def _inputs(batch: PromptBatch | Tensor) -> tuple[Tensor, Tensor | None]:
    """Token ids and the attention mask (None when nothing is padded)."""
    if isinstance(batch, PromptBatch):
        return batch.tokens, (batch.attention_mask if batch.padded else None)
    return batch, None


def _positions(batch: PromptBatch | Tensor, positions: Tensor | str | None) -> Tensor:
    if isinstance(positions, Tensor):
        return positions
    if isinstance(batch, PromptBatch):
        return batch.ends if positions is None else batch.last(positions)
    if positions is None:  # unpadded tokens: the last column for everyone
        return torch.full((batch.shape[0],), batch.shape[1] - 1, device=batch.device)
    raise ValueError(f"a span name ({positions!r}) needs a PromptBatch, not bare tokens")


def _gather(resid: Tensor, cols: Tensor) -> Tensor:
    """``resid [E, B, pos, d]`` at ``cols`` ``[B]`` -> ``[E, B, d]`` (``[B, k]`` -> ``[E, B, k,
    d]``)."""
    rows = torch.arange(resid.shape[1], device=resid.device)
    if cols.ndim == 2:
        rows = rows[:, None]
    return resid[:, rows, cols.to(resid.device)]


def _check_context(model, length: int) -> None:
    if length > model.cfg.n_ctx:  # position tables (and rotary caches) stop at n_ctx
        raise SaebenchError(
            f"{length} tokens exceed the model's context of {model.cfg.n_ctx}; "
            "generate fewer tokens or shorten the prompts"
        )


def _apply_split(edits: Sequence[Edit], act: Tensor, start: int) -> Tensor:
    """Edit k applied to the k-th of ``len(edits)`` stacked copies of a batch."""
    if len(edits) == 1:
        return edits[0](act, start)
    chunks = act.chunk(len(edits), dim=0)
    outs = [edit(chunk, start) for edit, chunk in zip(edits, chunks, strict=True)]
    if all(out is chunk for out, chunk in zip(outs, chunks, strict=True)):
        return act  # every edit wrote in place: no copy
    return torch.cat(outs, dim=0)


def _split_hook(edits: Sequence[Edit]):
    """A TransformerLens hook applying edit k to the k-th slice of a stacked batch."""

    def hook_fn(act: Tensor, hook=None) -> Tensor:
        return _apply_split(edits, act, 0)

    return hook_fn


def answer_logits(logits: Tensor, positions: Tensor, answer_ids: Tensor) -> Tensor:
    """``logits[b, positions[b], answer_ids[b, j]]`` -> ``[batch, n_answers]``."""
    rows = torch.arange(logits.shape[0], device=logits.device)
    at_position = logits[rows, positions]  # [batch, vocab]
    return at_position.gather(-1, answer_ids)


@torch.no_grad()
def last_logits(model, texts: Sequence[str], batch_size: int = 256) -> Tensor:
    """Next-token logits after each text (BOS per the model's default), ``[len(texts), vocab]``
    in float32 on the CPU; each text is read at its own last token.

    Example:
        >>> last_logits(model, ["Kyoto is a city in the country of"]).argmax(-1)
    """
    runner = ModelRunner(model)
    rows = []
    for start in range(0, len(texts), batch_size):
        batch = make_batch(model, list(texts[start : start + batch_size]))
        rows.append(runner.logits_at(batch)[0].float().cpu())
    return torch.cat(rows)
