"""Stream token batches through the model once and hand every SAE's batch to its evaluators.

Per batch: one clean forward captures every hook the group needs (stopping early when no
evaluator needs logits); each SAE encodes and decodes once; when CE/KL are wanted, the
zero-ablated run is done once per output hook and the spliced runs of several SAEs share
one call of the layers after the hook. Memory does not grow with the token count: only
the evaluators' accumulators live across batches.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor

from saebench.activations.cache import ActivationCache
from saebench.activations.downstream import CleanRun, loss_positions
from saebench.data.contexts import TokenSet
from saebench.evaluators.base import Downstream, Evaluator, Needs, SaeBatch
from saebench.models.edits import sae_view, zero_where
from saebench.models.hooks import stop_layer
from saebench.models.runner import ModelRunner


@dataclass
class SaeSlot:
    """One SAE of a group and the evaluators that run on it."""

    sae: object
    evaluators: list[Evaluator]
    needs: list[Needs]
    outputs: dict = field(default_factory=dict)  # per batch: full-shape x, codes, x_hat

    @property
    def passes(self) -> int:
        return max((n.passes for n in self.needs if n.activations), default=0)

    @property
    def downstream(self) -> bool:
        return any(n.downstream for n in self.needs)


class SharedPass:
    """Runs the streaming part of a group's evaluation (one model, one token set).

    Example:
        >>> SharedPass(model, token_set, slots, batch_size=16).run()
    """

    def __init__(
        self,
        model,
        token_set: TokenSet,
        slots: list[SaeSlot],
        batch_size: int,
        device: str = "cpu",
        cache_root=None,
        progress: bool = True,
        splice_rows: int | None = None,
    ) -> None:
        self.model = model
        self.runner = ModelRunner(model)
        self.token_set = token_set
        self.slots = slots
        self.batch_size = batch_size
        self.device = device
        self.cache_root = cache_root
        self.progress = progress
        # how many copies of a batch one spliced call may stack (bounds logits memory)
        self.splice_rows = splice_rows or 8
        self.model_forwards = 0  # counted for the benchmark and tests

    # -- planning -------------------------------------------------------------------------
    def _capture_names(self) -> list[str]:
        names: set[str] = set()
        for slot in self.slots:
            meta = slot.sae.meta
            names.update({meta.hook_name, meta.output_hook})
            if slot.downstream:
                restart = self.runner.restart_hook(meta.output_hook)
                if restart:
                    names.add(restart)
        return sorted(names)

    def _make_cache(self, names: list[str], tmp: str | None) -> ActivationCache | None:
        root = self.cache_root or tmp
        if root is None:
            return None
        from saebench.models.load import model_fingerprint

        # Hashing the token ids covers tokenizer, BOS handling, context size and count;
        # a persistent cache also hashes the weights so two models of one name never mix.
        key = {
            "model": model_fingerprint(self.model, weights=self.cache_root is not None),
            "hooks": names,
            "tokens": _tensor_digest(self.token_set.tokens),
            "batch_size": self.batch_size,
        }
        return ActivationCache(root, key)

    # -- running --------------------------------------------------------------------------
    @torch.no_grad()
    def run(self) -> None:
        n_passes = max((slot.passes for slot in self.slots), default=0)
        if n_passes == 0:
            return
        names = self._capture_names()
        with tempfile.TemporaryDirectory(prefix="saebench-acts-") as tmp:
            cache = self._make_cache(names, tmp if n_passes > 1 else None)
            for pass_index in range(n_passes):
                for index, tokens in self._batches(pass_index, n_passes):
                    self._step(pass_index, index, tokens, names, cache)

    def _batches(self, pass_index: int, n_passes: int) -> Iterator[tuple[int, Tensor]]:
        tokens = self.token_set.tokens
        starts = range(0, tokens.shape[0], self.batch_size)
        if self.progress:
            from tqdm.auto import tqdm

            label = "activations" if n_passes == 1 else f"pass {pass_index + 1}/{n_passes}"
            starts = tqdm(starts, desc=label, unit="batch", leave=False)
        for index, start in enumerate(starts):
            yield index, tokens[start : start + self.batch_size].to(self.device)

    def _step(self, pass_index, index, tokens, names, cache) -> None:
        need_logits = pass_index == 0 and any(s.downstream for s in self.slots)
        acts, logits = self._clean(index, tokens, names, need_logits, cache)
        mask = self.token_set.mask(tokens)
        active = [s for s in self.slots if s.passes > pass_index]
        for slot in active:
            self._encode(slot, acts, mask)
        losses = self._downstream(tokens, mask, acts, logits, active) if need_logits else {}
        for slot in active:
            batch = self._sae_batch(slot, tokens, mask, losses.get(id(slot)), pass_index, index)
            for evaluator, needs in zip(slot.evaluators, slot.needs, strict=True):
                if needs.activations and needs.passes > pass_index:
                    evaluator.update(batch)
            slot.outputs = {}

    def _clean(self, index, tokens, names, need_logits, cache):
        if not need_logits and cache is not None and cache.has(index):
            return cache.load(index, self.device), None
        acts: dict[str, Tensor] = {}

        def keep(act, hook):
            acts[hook.name] = act.detach()

        stop = None if need_logits else stop_layer(names, self.model.cfg.n_layers)
        with self.model.hooks(fwd_hooks=[(name, keep) for name in names]):
            out = self.model(tokens, stop_at_layer=stop, return_type="logits")
        self.model_forwards += 1
        if cache is not None and not cache.has(index):
            cache.save(index, acts)
        return acts, (out if need_logits else None)

    def _encode(self, slot: SaeSlot, acts: dict[str, Tensor], mask: Tensor) -> None:
        """Encode and decode the counted rows only (special tokens are never evaluated)."""
        sae, meta = slot.sae, slot.sae.meta
        x = sae_view(acts[meta.hook_name], meta)[mask].to(sae.dtype)
        codes, x_hat = sae(x)
        target = x
        if meta.output_hook != meta.hook_name:
            target = sae_view(acts[meta.output_hook], meta)[mask].to(sae.dtype)
        slot.outputs = {"x": x, "codes": codes, "x_hat": x_hat, "target": target}

    def _sae_batch(self, slot, tokens, mask, downstream, pass_index, index) -> SaeBatch:
        out = slot.outputs
        return SaeBatch(
            sae=slot.sae,
            tokens=tokens,
            mask=mask,
            x=out["x"],
            target=out["target"],
            codes=out["codes"],
            x_hat=out["x_hat"],
            downstream=downstream,
            pass_index=pass_index,
            batch_index=index,
        )

    # -- CE / KL ----------------------------------------------------------------------------
    def _downstream(self, tokens, mask, acts, logits, slots) -> dict[int, Downstream]:
        clean = CleanRun.from_logits(logits, tokens)
        ce_pos = loss_positions(mask)
        ce_clean = clean.ce[ce_pos]
        results: dict[int, Downstream] = {}
        by_hook: dict[str, list[SaeSlot]] = {}
        for slot in (s for s in slots if s.downstream):
            by_hook.setdefault(slot.sae.meta.output_hook, []).append(slot)
        for hook, group in by_hook.items():
            zero_logits = self.runner.logits_after(hook, acts, [zero_where(mask)], tokens)[0]
            ce_zero, kl_zero = clean.compare(zero_logits)
            del zero_logits
            for start in range(0, len(group), self.splice_rows):
                chunk = group[start : start + self.splice_rows]
                edits = [_splice(slot, mask) for slot in chunk]
                spliced = self.runner.logits_after(hook, acts, edits, tokens)
                for slot, slot_logits in zip(chunk, spliced, strict=True):
                    ce, kl = clean.compare(slot_logits)
                    results[id(slot)] = Downstream(
                        ce_clean=ce_clean,
                        ce_spliced=ce[ce_pos],
                        ce_zero=ce_zero[ce_pos],
                        kl_spliced=kl[mask],
                        kl_zero=kl_zero[mask],
                    )
        return results


def _tensor_digest(tensor: Tensor) -> str:
    import hashlib

    return hashlib.sha256(tensor.contiguous().cpu().numpy().tobytes()).hexdigest()[:16]


def _splice(slot: SaeSlot, mask: Tensor):
    """Write this SAE's reconstruction into the output hook at the counted positions."""
    x_hat, meta = slot.outputs["x_hat"], slot.sae.meta

    def edit(act: Tensor) -> Tensor:
        # contiguous, so that sae_view (flattening heads) is a view of ``new``, not a copy
        new = act.clone(memory_format=torch.contiguous_format)
        sae_view(new, meta)[mask] = x_hat.to(act.dtype)
        return new

    return edit
