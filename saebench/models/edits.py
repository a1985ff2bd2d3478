"""Edits of a hook's activation, for :class:`saebench.models.interventions.ModelRunner`.

The protocol: an edit is called as ``edit(act, start)``. ``act`` is the hook's activation
``[batch, pos, ...]`` for the columns the model is running now, and ``start`` is the absolute
column of ``act[:, 0]``: 0 when a whole prompt runs, the length of the KV cache while
generating (``act`` then holds the appended token only). A position-targeted edit therefore
applies only while its column is in the slice, and its effect reaches the appended tokens
through the cache. A plain one-argument function ``act -> new act`` is accepted wherever an
edit is, and applies to every position (:func:`as_edit` wraps it).

Where an edit applies (its ``where`` argument):

* ``None``: every position, including tokens appended while generating;
* a bool mask ``[batch, pos]``: the set positions (columns past its width are outside);
* a long tensor ``[batch]``: one column per example (``batch.last("entity")``);
* a pair ``(rows, cols)`` of long tensors ``[n]``: explicit (example, column) pairs.

Per-pair inputs (replacement values, source codes) follow the pair order: example order
for a ``[batch]`` tensor, row-major order for a mask. Pairs must be distinct.

Edits at chosen positions (:func:`replace_at`, :func:`patch_latents`, :func:`add_direction`)
write those rows into ``act`` in place, so no full-size copy is made: the runner hands every
edit a private activation (a fresh one in the re-run layers, or a copy of the clean one).
Call them on your own tensors with ``act.clone()`` if you need the original.
:func:`zero_where` and :func:`edit_codes` return a new tensor. Everything is differentiable
in its tensor arguments (a sigmoid mask over latents, a replacement computed from
parameters), as long as the model is frozen (``runner.frozen()``).

Example:
    >>> base, source = make_batch(model, bases), make_batch(model, sources)
    >>> acts = runner.capture(source, [sae.meta.hook_name])
    >>> codes = codes_at(sae, acts[sae.meta.hook_name], source.last("entity"))
    >>> mask = torch.sigmoid(logits_param)                     # [d_sae], learned
    >>> patch = patch_latents(sae, base.last("entity"), codes, weights=mask)
    >>> steer = add_direction(sae.W_dec[7], 4.0, base.ends)    # error term kept
    >>> runner.logits_at(base, hook=sae.meta.hook_name, edits=[patch, steer, lambda a: a])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

Where = Tensor | tuple[Tensor, Tensor] | None


class Edit:
    """Base of position-aware edits: ``__call__(act, start) -> new act``."""

    def __call__(self, act: Tensor, start: int = 0) -> Tensor:
        raise NotImplementedError

    def then(self, other: Edit | Callable | None) -> Edit:
        """This edit followed by ``other`` at the same hook."""
        return compose(self, other)


class _Plain(Edit):
    """A one-argument function ``act -> new act``, applied to every position."""

    def __init__(self, fn: Callable[[Tensor], Tensor]) -> None:
        self.fn = fn

    def __call__(self, act: Tensor, start: int = 0) -> Tensor:
        return self.fn(act)


class _Chain(Edit):
    def __init__(self, edits: Sequence[Edit]) -> None:
        self.edits = tuple(edits)

    def __call__(self, act: Tensor, start: int = 0) -> Tensor:
        for edit in self.edits:
            act = edit(act, start)
        return act


def as_edit(edit: Edit | Callable[[Tensor], Tensor] | None) -> Edit:
    """An :class:`Edit` from an edit, a plain ``act -> act`` function, or None (identity)."""
    if edit is None:
        return _Chain(())
    if isinstance(edit, Edit):
        return edit
    if not callable(edit):
        raise TypeError(f"an edit must be callable, not {type(edit).__name__}")
    return _Plain(edit)


def compose(*edits: Edit | Callable | None) -> Edit:
    """The edits applied one after the other (left first) at one hook."""
    return _Chain([as_edit(e) for e in edits])


# -- the SAE's part of an activation --------------------------------------------------------
def sae_view(act: Tensor, meta) -> Tensor:
    """The activation as the SAE reads it (one head, or all heads flattened for hook_z)."""
    if act.ndim == 4 and meta.hook_head_index is not None:
        return act[:, :, meta.hook_head_index]
    return act.flatten(-2) if act.ndim == 4 else act


def write_back(act: Tensor, new: Tensor, meta) -> Tensor:
    """Inverse of :func:`sae_view`: the full activation with the SAE's part replaced."""
    if act.ndim == 4 and meta.hook_head_index is not None:
        out = act.clone()
        out[:, :, meta.hook_head_index] = new.to(act.dtype)
        return out
    return new.to(act.dtype).view_as(act)


def read_rows(act: Tensor, rows: Tensor, cols: Tensor, meta=None) -> Tensor:
    """``act`` at (row, col) pairs, ``[n, width]`` as the SAE of ``meta`` reads it (the
    full trailing shape when ``meta`` is None)."""
    picked = act[rows, cols]
    if meta is None or act.ndim != 4:
        return picked
    if meta.hook_head_index is not None:
        return picked[:, meta.hook_head_index]
    return picked.flatten(1)


def write_rows(act: Tensor, rows: Tensor, cols: Tensor, new: Tensor, meta=None) -> Tensor:
    """Write ``new`` ``[n, width]`` into ``act`` at (row, col) pairs, in place."""
    new = new.to(act.dtype)
    if meta is not None and act.ndim == 4:
        if meta.hook_head_index is not None:
            head = torch.full_like(rows, meta.hook_head_index)
            act.index_put_((rows, cols, head), new)
            return act
        new = new.view(len(rows), *act.shape[2:])
    act.index_put_((rows, cols), new)
    return act


def codes_at(sae, act: Tensor, where: Where) -> Tensor:
    """The SAE's codes ``[n, d_sae]`` at the pairs of ``where`` (not None) of a captured
    activation at the SAE's input hook, e.g. a source prompt's entity token."""
    rows, cols = _pairs(where)
    return sae.encode(read_rows(act, rows, cols, sae.meta))


# -- where an edit applies ------------------------------------------------------------------
def _pairs(where: Where) -> tuple[Tensor, Tensor]:
    """(rows, cols) of ``where``, which must not be None."""
    if where is None:
        raise ValueError("this edit needs explicit positions (a [batch] tensor, pairs or a mask)")
    if isinstance(where, tuple):
        rows, cols = where
        return rows.long(), cols.long()
    if where.dtype == torch.bool:
        rows, cols = where.nonzero(as_tuple=True)
        return rows, cols
    if where.ndim != 1:
        raise ValueError("positions must be [batch] (one column per example) or (rows, cols)")
    return torch.arange(len(where), device=where.device), where.long()


def _mask_slice(mask: Tensor | None, start: int, length: int) -> Tensor | None:
    """Columns ``start .. start + length`` of a bool mask; columns past it are unset."""
    if mask is None:
        return None
    part = mask[:, start : start + length]
    if part.shape[1] < length:
        pad = part.new_zeros((part.shape[0], length - part.shape[1]))
        part = torch.cat([part, pad], dim=1)
    return part


def _expand(mask: Tensor, like: Tensor) -> Tensor:
    return mask.view(*mask.shape, *([1] * (like.ndim - mask.ndim)))


class _RowEdit(Edit):
    """Rewrites the rows of chosen (example, column) pairs in place; subclasses say how."""

    def __init__(self, where: Where, meta=None) -> None:
        self.meta = meta
        self.rows: Tensor | None = None
        self.cols: Tensor | None = None
        if where is not None:
            self.rows, self.cols = _pairs(where)

    def new_rows(self, old: Tensor, sel: Tensor | None) -> Tensor:
        """Replacement of ``old`` ``[k, width]``; ``sel`` indexes the pairs (None: every
        position of the slice, in row-major order)."""
        raise NotImplementedError

    def __call__(self, act: Tensor, start: int = 0) -> Tensor:
        if self.rows is None:
            b, p = act.shape[:2]
            rows = torch.arange(b, device=act.device).repeat_interleave(p)
            cols, sel = torch.arange(p, device=act.device).repeat(b), None
        else:
            inside = (self.cols >= start) & (self.cols < start + act.shape[1])
            if not bool(inside.any()):
                return act
            sel = inside.nonzero(as_tuple=True)[0]
            rows, cols = self.rows[sel], self.cols[sel] - start
        new = self.new_rows(read_rows(act, rows, cols, self.meta), sel)
        return write_rows(act, rows, cols, new, self.meta)


def _per_pair(value: Tensor, sel: Tensor | None, like: Tensor) -> Tensor:
    """``value`` for the selected pairs: per pair ``[n, ...]`` or shared ``[...]``."""
    if value.ndim == like.ndim:
        if sel is None:
            raise ValueError("per-pair values need explicit positions, not where=None")
        return value[sel]
    return value


# -- the edits ------------------------------------------------------------------------------
class _ReplaceAt(_RowEdit):
    def __init__(self, where: Where, values: Tensor, meta=None) -> None:
        super().__init__(where, meta)
        self.values = values

    def new_rows(self, old: Tensor, sel: Tensor | None) -> Tensor:
        return _per_pair(self.values, sel, old).expand_as(old)


def replace_at(where: Where, values: Tensor, meta=None) -> Edit:
    """Put ``values`` in at ``where``: one row per pair ``[n, width]`` or one shared row
    ``[width]`` (width as the SAE of ``meta`` sees the hook, or the hook's own shape).

    Example (supervised dictionaries: ``a - u_old + u_new`` at the IO token):
        >>> replace_at(batch.last("io"), acts[hook][rows, cols] - u_old + u_new)
    """
    return _ReplaceAt(where, values, meta)


class _AddAt(_RowEdit):
    def __init__(self, where: Where, step: Tensor, meta=None) -> None:
        super().__init__(where, meta)
        self.step = step

    def new_rows(self, old: Tensor, sel: Tensor | None) -> Tensor:
        return old + _per_pair(self.step, sel, old).to(old.dtype)


def add_direction(direction: Tensor, alpha: float | Tensor, where: Where = None, meta=None):
    """Steering: add ``alpha * direction`` at ``where``, everything else of the activation
    (and so the SAE's error term) kept. ``direction`` is ``[width]`` (``sae.W_dec[i]``, with
    ``meta=sae.meta`` for per-head hooks) or one per pair; ``alpha`` a number or a tensor
    (per pair ``[n, 1]``)."""
    step = alpha * direction
    if meta is None and (
        where is None or (isinstance(where, Tensor) and where.dtype == torch.bool)
    ):
        return _AddMasked(step, where)
    return _AddAt(where, step, meta)


class _AddMasked(Edit):
    """``act + step`` at the set positions of a mask (every position when None)."""

    def __init__(self, step: Tensor, mask: Tensor | None) -> None:
        self.step, self.mask = step, mask

    def __call__(self, act: Tensor, start: int = 0) -> Tensor:
        step = self.step.to(act.dtype)
        mask = _mask_slice(self.mask, start, act.shape[1])
        if mask is None:
            return act.add_(step)
        return act.add_(_expand(mask, act).to(act.dtype) * step)


class _PatchLatents(_RowEdit):
    def __init__(self, sae, where, source_codes, weights, keep_error, x) -> None:
        super().__init__(where, sae.meta)
        if self.rows is None:
            raise ValueError("patch_latents needs explicit positions, not where=None")
        if x is None and sae.meta.output_hook != sae.meta.hook_name:
            raise ValueError(
                f"a transcoder reads {sae.meta.hook_name} and writes {sae.meta.output_hook}: "
                "pass its clean input there as x=acts[sae.meta.hook_name]"
            )
        self.sae, self.source, self.weights = sae, source_codes, weights
        self.keep_error, self.x = keep_error, x

    def new_rows(self, old: Tensor, sel: Tensor | None) -> Tensor:
        sae = self.sae
        x = old if self.x is None else read_rows(self.x, self.rows[sel], self.cols[sel], sae.meta)
        base = sae.encode(x)
        codes = _mix(base, self.source[sel].to(base.dtype), self.weights, sel)
        new = sae.decode(codes, x)
        if self.keep_error:
            new = new + (old.to(new.dtype) - sae.decode(base, x))
        return new


def _mix(base: Tensor, source: Tensor, weights: Tensor | None, sel: Tensor) -> Tensor:
    """``w * source + (1 - w) * base`` per latent; a bool ``w`` picks exactly."""
    if weights is None:
        return source
    w = weights if weights.ndim == 1 else weights[sel]
    if w.dtype == torch.bool:
        return torch.where(w, source, base)
    w = w.to(base.dtype)
    return w * source + (1 - w) * base


def patch_latents(
    sae,
    where: Where,
    source_codes: Tensor,
    weights: Tensor | None = None,
    keep_error: bool = False,
    x: Tensor | None = None,
) -> Edit:
    """Latents from another prompt (RAVEL): at each pair of ``where``, re-encode the
    activation, set ``codes = w * source + (1 - w) * base`` and decode.

    ``source_codes`` ``[n, d_sae]`` are the source prompts' codes at their own positions
    (:func:`codes_at`; source and base may differ in length). ``weights`` is None (take
    every latent), bool or float, ``[d_sae]`` or one row per pair ``[n, d_sae]``; a float
    mask such as ``torch.sigmoid(m / T)`` receives gradients. ``keep_error`` adds the SAE's
    error ``y - decode(encode(x))`` back, so only the patched latents move the activation.
    Transcoders need their clean input ``x`` (the capture of ``sae.meta.hook_name``).
    """
    return _PatchLatents(sae, where, source_codes, weights, keep_error, x)


class _Masked(Edit):
    """An out-of-place edit of the positions of a mask (every position when None)."""

    def __init__(self, fn: Callable[[Tensor, Tensor | None], Tensor], mask: Tensor | None):
        self.fn, self.mask = fn, mask

    def __call__(self, act: Tensor, start: int = 0) -> Tensor:
        mask = _mask_slice(self.mask, start, act.shape[1])
        if mask is not None and not bool(mask.any()):
            return act
        return self.fn(act, mask)


def zero_where(mask: Tensor | None) -> Edit:
    """Zero ablation at the set positions of a bool mask ``[batch, pos]`` (all when None)."""

    def zero(act: Tensor, part: Tensor | None) -> Tensor:
        return torch.zeros_like(act) if part is None else act.masked_fill(_expand(part, act), 0)

    return _Masked(zero, mask)


def edit_codes(
    sae,
    change: Callable[[Tensor], Tensor] | None,
    mask: Tensor | None,
    keep_error: bool = False,
) -> Edit:
    """Re-encode, change the codes, decode, at the set positions of ``mask`` (all when None);
    optionally add the SAE's error term back (SAEs only: a transcoder's input is elsewhere).

    With ``change=None`` this is the plain SAE splice. ``keep_error=True`` adds
    ``x - decode(encode(x))`` so that only the change itself moves the activation.
    """

    def edit(act: Tensor, part: Tensor | None) -> Tensor:
        x = sae_view(act, sae.meta)
        codes = sae.encode(x)
        new = sae.decode(change(codes) if change else codes, x)
        if keep_error:
            new = new + (x.to(new.dtype) - sae.decode(codes, x))
        full = write_back(act, new, sae.meta)
        return full if part is None else torch.where(_expand(part, act), full, act)

    return _Masked(edit, mask)
