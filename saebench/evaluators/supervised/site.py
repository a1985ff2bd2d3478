"""The model side of the supervised evaluator: the metric and top answers after replacing
the activation at one hook and task position, in chunks of prompts.

:meth:`Site.prepare` tokenises a list of prompts once and keeps, per chunk, the clean
activation where a re-run starts; every later run replaces the activation at the position
(a :class:`~saebench.toolkit.sites.Position`) with a given row per prompt and re-runs only
the layers after the hook (:meth:`ModelRunner.logits_at`). Chunks are independent, so no
number depends on the chunk size beyond float rounding. Reading activations alone is
:func:`saebench.toolkit.sites.activations_at`.

Example:
    >>> site = Site(runner, "blocks.1.hook_resid_post", Position("end"), meta)
    >>> prepared = site.prepare(prompts)
    >>> prepared.acts                                        # [n, d] at the position
    >>> ld, top = site.run(prepared, [None, acts_hat], answers, counter)   # [2, n] each
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from saebench.models.edits import read_rows, replace_at
from saebench.models.prompts import Prompt, PromptBatch, make_batch
from saebench.toolkit.sites import Position, activations_at


@dataclass
class Prepared:
    """Prompts tokenised in chunks, each with its clean capture, and ``acts`` ``[n, d]``."""

    prompts: list
    chunks: list[tuple[PromptBatch, dict[str, Tensor]]]
    acts: Tensor

    def select(self, rows: Tensor) -> Prepared:
        """The prompts ``rows`` (ascending), chunk by chunk."""
        rows_list = rows.tolist()
        if rows_list != sorted(rows_list):
            raise ValueError("select needs ascending rows")
        chunks, start = [], 0
        for batch, clean in self.chunks:
            local = [r - start for r in rows_list if start <= r < start + len(batch)]
            start += len(batch)
            if not local:
                continue
            part = batch.select(local)
            width = part.tokens.shape[1]
            index = torch.tensor(local)
            chunks.append((part, {k: v[index, :width] for k, v in clean.items()}))
        return Prepared([self.prompts[r] for r in rows_list], chunks, self.acts[rows])


class Site:
    """One (hook, position) of a model, read and replaced for lists of task prompts."""

    def __init__(self, runner, hook: str, position: Position, meta=None, batch_size: int = 64):
        self.runner, self.hook, self.position = runner, hook, position
        self.meta, self.batch_size = meta, batch_size
        self.restart = runner.restart_hook(hook)

    def _batches(self, prompts: Sequence, answers: Sequence[str] | None = None):
        for start in range(0, len(prompts), self.batch_size):
            part = prompts[start : start + self.batch_size]
            texts = [
                Prompt(p.text, p.spans, None if answers is None else answers[start + i])
                for i, p in enumerate(part)
            ]
            yield make_batch(self.runner.model, texts)

    def prepare(self, prompts: Sequence) -> Prepared:
        """Tokenise ``prompts``, capture the hook (and the restart point) once."""
        chunks, acts = [], []
        hooks = [self.hook] + ([self.restart] if self.restart else [])
        for batch in self._batches(prompts):
            clean = self.runner.capture(batch, hooks)
            rows = torch.arange(len(batch))
            acts.append(
                read_rows(clean[self.hook], rows, self.position.columns(batch), self.meta).float()
            )
            keep = {self.restart: clean[self.restart]} if self.restart else {}
            chunks.append((batch, keep))
        return Prepared(list(prompts), chunks, torch.cat(acts))

    def acts(self, prompts: Sequence) -> Tensor:
        """The activation at the position, ``[n, width]`` (float32, as the SAE reads it), on
        the model's device like those of :meth:`prepare`."""
        acts = activations_at(self.runner, prompts, self.hook, self.position, self.meta)
        return acts.to(self.runner.model.cfg.device)

    def answer_ids(self, prompts: Sequence, answers: Sequence[str]) -> Tensor:
        """First token of each ``answers[i]`` as the continuation of ``prompts[i]``."""
        return torch.cat([b.answer_ids[:, 0] for b in self._batches(prompts, answers)])

    def run(
        self,
        prepared: Prepared,
        values: Sequence[Tensor | None],
        answer: Tensor,
        counter: Tensor,
    ) -> tuple[Tensor, Tensor]:
        """Per replacement (None: clean), the metric ``logit(answer) - logit(counter)`` and
        the top token at each prompt's last token, ``[len(values), n]`` each."""
        lds, tops, start = [], [], 0
        for batch, clean in prepared.chunks:
            stop = start + len(batch)
            where = self.position.columns(batch)
            edits = [
                None if v is None else replace_at(where, v[start:stop], self.meta) for v in values
            ]
            logits = self.runner.logits_at(batch, None, self.hook, edits, clean).float()
            rows = torch.arange(len(batch))
            lds.append(logits[:, rows, answer[start:stop]] - logits[:, rows, counter[start:stop]])
            tops.append(logits.argmax(-1))
            start = stop
        return torch.cat(lds, dim=1), torch.cat(tops, dim=1)
