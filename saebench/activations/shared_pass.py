"""Stream a source's batches once and hand every SAE's batch to its evaluators.

The activations come from an activation source (:mod:`saebench.sources`): for the model
source, per batch one clean forward captures every hook the group needs (stopping early when
no evaluator needs logits); each SAE encodes and decodes once; when CE/KL are wanted, the
zero-ablated run is done once per (output hook, head, ablation rule) and each SAE's splice
re-runs only the layers after its hook. Those runs stop at the final residual stream; the
logits are then made a few contexts at a time, compared with the clean run's and dropped,
so no ``[batch, pos, vocab]`` tensor of a whole batch ever exists (on a real vocabulary
that tensor, not the SAE, is the cost). Memory does not grow with the token count: only the
evaluators' accumulators live across batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from saebench.activations.downstream import CleanRun
from saebench.evaluators.base import Downstream, Evaluator, Needs, SaeBatch
from saebench.models.edits import sae_view
from saebench.sources.base import ActivationSource, SourceBatch

# Bytes of logits made at once when comparing runs: small enough to stay in cache.
_LOGITS_BLOCK_BYTES = 8 * 2**20


@dataclass
class SaeSlot:
    """One SAE of a group and the evaluators that run on it."""

    sae: object
    evaluators: list[Evaluator]
    needs: list[Needs]
    outputs: dict = field(default_factory=dict)  # per batch: x, codes, x_hat, target

    @property
    def passes(self) -> int:
        return max((n.passes for n in self.needs if n.activations), default=0)

    @property
    def downstream(self) -> bool:
        return any(n.downstream for n in self.needs)

    @property
    def zero_rules(self) -> set[str]:
        return {n.zero_ablation for n in self.needs if n.downstream}


class SharedPass:
    """Runs the streaming part of a group's evaluation (one source: a model and token set).

    Example:
        >>> SharedPass(ModelSource(model, token_set), slots, batch_size=16).run()
    """

    def __init__(
        self,
        source: ActivationSource,
        slots: list[SaeSlot],
        batch_size: int,
        cache_root=None,
        progress: bool = True,
        splice_rows: int | None = None,
    ) -> None:
        self.source = source
        self.slots = slots
        self.batch_size = batch_size
        self.cache_root = cache_root
        self.progress = progress
        # Stacking several SAEs' splices in one call pays on a GPU; on a CPU the bigger
        # tensors fall out of cache and it is slower (benchmarks/core_throughput.py).
        device = str(getattr(source, "device", "cpu"))
        self.splice_rows = splice_rows or (8 if device.startswith("cuda") else 1)

    @property
    def model_forwards(self) -> int:
        """Batches the source computed (not read from a cache), for the benchmark and tests."""
        return self.source.forwards

    @property
    def runner(self):
        return self.source.runner

    @property
    def model(self):
        return self.source.model

    # -- planning -------------------------------------------------------------------------
    def _capture_names(self) -> list[str]:
        names: set[str] = set()
        for slot in self.slots:
            meta = slot.sae.meta
            names.update({meta.hook_name, meta.output_hook})
            if slot.downstream:
                restart = self.source.runner.restart_hook(meta.output_hook)
                if restart:
                    names.add(restart)
        return sorted(names)

    def _make_cache(self, names: list[str], scratch):
        from saebench.activations.cache import ActivationCache

        root = self.cache_root or scratch
        if root is None or not getattr(self.source, "cacheable", True):
            return None
        identity = {**self.source.identity(), "batch_size": self.batch_size}
        return ActivationCache(root, identity, names)

    # -- running --------------------------------------------------------------------------
    @torch.no_grad()
    def run(self) -> None:
        from contextlib import nullcontext

        from saebench.activations.scratch import scratch_dir

        n_passes = max((slot.passes for slot in self.slots), default=0)
        if n_passes == 0:
            return
        names = self._capture_names()
        # a second pass reads the first from disk: a scratch folder, removed however the run
        # ends, unless the user keeps a persistent cache
        scratch = n_passes > 1 and self.cache_root is None
        with scratch_dir() if scratch else nullcontext() as folder:
            cache = self._make_cache(names, folder)
            for pass_index in range(n_passes):
                label = None
                if self.progress:
                    label = "activations" if n_passes == 1 else f"pass {pass_index + 1}/{n_passes}"
                for batch in self.source.batches(self.batch_size, label):
                    self._step(pass_index, batch, names, cache)

    def _step(self, pass_index: int, source_batch: SourceBatch, names, cache) -> None:
        need_logits = pass_index == 0 and any(s.downstream for s in self.slots)
        acts, resid = self._clean(source_batch, names, need_logits, cache)
        tokens, mask = source_batch.tokens, source_batch.mask
        active = [s for s in self.slots if s.passes > pass_index]
        for slot in active:
            self._encode(slot, acts, mask)
        losses = self._downstream(tokens, mask, acts, resid, active) if need_logits else {}
        for slot in active:
            batch = SaeBatch(
                sae=slot.sae,
                tokens=tokens,
                mask=mask,
                downstream=losses.get(id(slot)),
                pass_index=pass_index,
                batch_index=source_batch.index,
                context_start=source_batch.start,
                truth=source_batch.truth,
                **slot.outputs,
            )
            for evaluator, needs in zip(slot.evaluators, slot.needs, strict=True):
                if needs.activations and needs.passes > pass_index:
                    evaluator.update(batch)
            slot.outputs = {}

    def _clean(self, batch: SourceBatch, names, need_logits, cache):
        """Captured activations, and the final residual stream when logits are needed."""
        if not need_logits and cache is not None:
            # None when missing or wrong: recomputed below
            cached = cache.load(batch.index, batch.tokens)
            if cached is not None:
                return cached, None
        acts, resid = self.source.capture(batch, names, need_logits)
        if cache is not None:
            cache.save(batch.index, batch.tokens, acts)  # keeps a shard already there
        return acts, resid

    def _encode(self, slot: SaeSlot, acts: dict[str, Tensor], mask: Tensor) -> None:
        """Encode and decode the counted rows only (special tokens are never evaluated)."""
        sae, meta = slot.sae, slot.sae.meta
        x = sae_view(acts[meta.hook_name], meta)[mask].to(sae.dtype)
        codes, x_hat = sae(x)
        target = x
        if meta.output_hook != meta.hook_name:
            target = sae_view(acts[meta.output_hook], meta)[mask].to(sae.dtype)
        slot.outputs = {"x": x, "codes": codes, "x_hat": x_hat, "target": target}

    # -- CE / KL ----------------------------------------------------------------------------
    def _downstream(self, tokens, mask, acts, resid_clean, slots) -> dict[int, Downstream]:
        """Per-position CE and KL of every SAE's splice and of the zero ablations it asks for."""
        wanted = [s for s in slots if s.downstream]
        runs: dict = {}  # run key -> final residual of that edited run
        for hook, head, rule in sorted({_zero_key(s, r) for s in wanted for r in s.zero_rules},
                                       key=str):  # fmt: skip
            zero_mask = mask if rule == "counted_positions" else None
            edit = _zero_ablation(zero_mask, head)
            runs[("zero", hook, head, rule)] = self.runner.run_after(hook, acts, [edit])[0]
        by_hook: dict[str, list[SaeSlot]] = {}
        for slot in wanted:
            by_hook.setdefault(slot.sae.meta.output_hook, []).append(slot)
        for hook, group in by_hook.items():
            for first in range(0, len(group), self.splice_rows):
                chunk = group[first : first + self.splice_rows]
                spliced = self.runner.run_after(hook, acts, [_splice(s, mask) for s in chunk])
                for slot, resid in zip(chunk, spliced, strict=True):
                    runs[id(slot)] = resid
        ce_clean, ce, kl = self._compare(tokens, resid_clean, runs)
        results = {}
        for slot in wanted:
            (rule,) = slot.zero_rules or {"every_position"}
            zero = ("zero", *_zero_key(slot, rule))
            results[id(slot)] = Downstream(
                ce_clean=ce_clean,
                ce_spliced=ce[id(slot)],
                ce_zero=ce[zero],
                kl_spliced=kl[id(slot)],
                kl_zero=kl[zero],
            )
        return results

    def _compare(self, tokens, resid_clean, runs):
        """Next-token CE ``[batch, pos-1]`` of the clean run and of every edited run, and
        KL(clean || edited) ``[batch, pos]``, with the logits made a few contexts at a time."""
        batch, pos = tokens.shape
        rows = max(1, _LOGITS_BLOCK_BYTES // (4 * pos * self.model.cfg.d_vocab_out))
        ce_clean = torch.empty(batch, pos - 1, device=tokens.device)
        ce = {key: torch.empty_like(ce_clean) for key in runs}
        kl = {key: torch.empty(batch, pos, device=tokens.device) for key in runs}
        for first in range(0, batch, rows):
            block = slice(first, first + rows)
            clean = CleanRun.from_logits(self.runner.unembed(resid_clean[block]), tokens[block])
            ce_clean[block] = clean.ce
            for key, resid in runs.items():
                ce[key][block], kl[key][block] = clean.compare(self.runner.unembed(resid[block]))
        return ce_clean, ce, kl


def _zero_key(slot: SaeSlot, rule: str) -> tuple[str, int | None, str]:
    meta = slot.sae.meta
    return meta.output_hook, meta.hook_head_index, rule


def _zero_ablation(mask: Tensor | None, head: int | None):
    """Zero the hook (one head of it, for a per-head SAE) at every position, or only at the
    masked positions."""

    def edit(act: Tensor) -> Tensor:
        if head is None or act.ndim != 4:
            if mask is None:
                return torch.zeros_like(act)
            return act.masked_fill(mask.view(*mask.shape, *([1] * (act.ndim - 2))), 0)
        new = act.clone()
        if mask is None:
            new[:, :, head] = 0
        else:
            new[:, :, head] = new[:, :, head].masked_fill(mask[..., None], 0)
        return new

    return edit


def _splice(slot: SaeSlot, mask: Tensor):
    """Write this SAE's reconstruction into the output hook at the counted positions (special
    positions keep their clean activation, as SAELens does)."""
    x_hat, meta = slot.outputs["x_hat"], slot.sae.meta

    def edit(act: Tensor) -> Tensor:
        # contiguous, so that sae_view (flattening heads) is a view of ``new``, not a copy
        new = act.clone(memory_format=torch.contiguous_format)
        sae_view(new, meta)[mask] = x_hat.to(act.dtype)
        return new

    return edit
