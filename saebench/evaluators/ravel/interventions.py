"""Interchange interventions at the entity's last token, for any featurizer.

Pairs are turned once into :class:`PairChunk` objects (the base prompts as a batch whose
answer is the expected value, the clean pass the tail restarts from, and the source's
activation at its own entity token). An intervention is a featurizer and the weights of its
coordinates (bool at evaluation, float while a mask learns): at the base's entity token
the weighted coordinates come from the source and the rest from the base, decoded without
the SAE's error term unless ``keep_error``. :func:`intervene` reads the greedy answer under
several interventions at once and says which pairs got their expected answer;
:func:`answer_loss` (every answer token, teacher-forced) is the differentiable part the mask
and DAS trainings use.

Example:
    >>> chunks = prepare_pairs(runner, sae.meta.hook_name, pairs, batch_size=64)
    >>> ok = intervene(runner, chunks, [(sae, mask), (neurons, all_ones)])  # [2, n_pairs]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from saebench.models.edits import patch_latents, read_rows
from saebench.models.prompts import Prompt, PromptBatch, make_batch
from saebench.toolkit.sites import LAST, Position

ENTITY = "entity"  # the span every RAVEL prompt names
# the config's names for the patched column: the entity's last token (RAVEL), or the
# prompt's last token
POSITIONS = {ENTITY: Position(ENTITY), LAST: Position(LAST)}

# a featurizer (an SAE, or one of saebench.evaluators.ravel.featurizers) and its weights
Intervention = tuple[object, Tensor]


@dataclass
class PairChunk:
    """Up to ``batch_size`` pairs, ready to be intervened on."""

    pairs: list
    base: PromptBatch  # answers are the pairs' expected values
    clean: dict[str, Tensor]  # the base's clean pass where the tail restarts
    source_x: Tensor  # [n, d] the source's activation at its entity token
    hook: str
    where: Tensor  # [n] the base's column that is patched
    forced: Tensor | None = None  # [n, w] base tokens then the expected answer (teacher forcing)
    forced_clean: dict[str, Tensor] | None = None  # the clean pass of ``forced``

    @property
    def expected_first(self) -> Tensor:
        """The first token of each expected answer, as it would follow the base prompt."""
        return self.base.answer_ids[:, 0]

    @property
    def answer_positions(self) -> Tensor:
        """``[n, a]``: where each answer token is predicted in ``forced`` (the base's last
        token, then the answer's own tokens but the last); past an answer's end, its last."""
        steps = torch.arange(self.base.answer_ids.shape[1], device=self.base.ends.device)
        last = self.base.answer_lengths[:, None] - 1
        return self.base.ends[:, None] + torch.minimum(steps[None], last)

    @property
    def answer_targets(self) -> Tensor:
        """``[n, a]`` the expected answer's tokens, -100 (ignored) past its end."""
        ids = self.base.answer_ids.clone()
        steps = torch.arange(ids.shape[1], device=ids.device)
        ids[steps[None] >= self.base.answer_lengths[:, None]] = -100
        return ids


def prepare_pairs(
    runner, hook: str, pairs: Sequence, batch_size: int, meta=None, position: str = "entity"
):
    """The pairs in chunks of ``batch_size``, each with the captures its interventions need
    (``meta``: an SAE's metadata, for hooks it reads one head of). ``position`` is the
    column patched: the entity's last token, or each prompt's last token."""
    restart = runner.restart_hook(hook)
    chunks = []
    for start in range(0, len(pairs), batch_size):
        part = list(pairs[start : start + batch_size])
        base = make_batch(runner.model, [_with_answer(p.base, p.expected) for p in part])
        source = make_batch(runner.model, [p.source for p in part])
        clean = runner.capture(base, [restart]) if restart else {}
        acts = runner.capture(source, [hook])[hook]
        rows = torch.arange(len(part), device=acts.device)
        at = site_position(position)
        source_x = read_rows(acts, rows, at.columns(source), meta)
        forced = forced_tokens(base)
        forced_clean = runner.capture(forced, [restart]) if restart else {}
        chunk = PairChunk(part, base, clean, source_x, hook, at.columns(base))
        chunk.forced, chunk.forced_clean = forced, forced_clean
        chunks.append(chunk)
    return chunks


def forced_tokens(base: PromptBatch) -> Tensor:
    """The base prompts followed by their expected answers, right-padded ``[n, w]``: a causal
    model reads every answer token at once (teacher forcing), each after the true ones."""
    lengths = base.lengths + base.answer_lengths
    out = torch.full(
        (len(base), int(lengths.max())),
        base.pad_id,
        dtype=base.tokens.dtype,
        device=base.tokens.device,
    )
    for row in range(len(base)):
        n, a = int(base.lengths[row]), int(base.answer_lengths[row])
        out[row, :n] = base.tokens[row, :n]
        out[row, n : n + a] = base.answer_ids[row, :a]
    return out


def site_position(name: str) -> Position:
    """The :class:`~saebench.toolkit.sites.Position` a config's ``position`` names."""
    if name not in POSITIONS:
        raise ValueError(f"position must be one of {tuple(POSITIONS)}, not {name!r}")
    return POSITIONS[name]


def _with_answer(prompt, answer: str) -> Prompt:
    return Prompt(prompt.text, dict(prompt.spans), answer=answer)


def patch_for(chunk: PairChunk, featurizer, weights: Tensor, keep_error: bool = False):
    """The edit that swaps ``weights``' coordinates of ``featurizer`` from source to base."""
    codes = featurizer.encode(chunk.source_x)
    return patch_latents(featurizer, chunk.where, codes, weights, keep_error)


def first_token_logits(runner, chunk: PairChunk, featurizer, weights, keep_error=False):
    """Next-token logits ``[n, vocab]`` at the base's last token under the patch; only the
    layers after the hook run, and gradients reach ``weights`` and the featurizer."""
    edit = patch_for(chunk, featurizer, weights, keep_error)
    return runner.logits_at(chunk.base, hook=chunk.hook, edits=[edit], clean=chunk.clean)[0]


def answer_loss(
    runner, chunk: PairChunk, featurizer, weights, keep_error=False, rows: Tensor | None = None
) -> Tensor:
    """Mean cross-entropy of every token of the expected answers, teacher-forced, under the
    patch (answers are scored on all their tokens, so masks and rotations learn on all of
    them); gradients reach ``weights`` and the featurizer. ``rows`` (bool ``[n]``) keeps
    the loss of some pairs only (DAS learns from cause pairs alone)."""
    edit = patch_for(chunk, featurizer, weights, keep_error)
    logits = runner.logits_at(
        chunk.forced,
        chunk.answer_positions,
        hook=chunk.hook,
        edits=[edit],
        clean=chunk.forced_clean,
    )[0]
    targets = chunk.answer_targets
    if rows is not None:
        targets[~rows.to(targets.device)] = -100
    return torch.nn.functional.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100
    )


@torch.no_grad()
def answers(
    runner,
    chunk: PairChunk,
    interventions: Sequence[Intervention],
    n_tokens: int,
    keep_error: bool = False,
) -> Tensor:
    """Greedy answer tokens ``[len(interventions), n, n_tokens]`` under each intervention
    (one token needs only the tail; more are generated with the full model)."""
    edits = [patch_for(chunk, f, w, keep_error) for f, w in interventions]
    if n_tokens == 1:
        logits = runner.logits_at(chunk.base, hook=chunk.hook, edits=edits, clean=chunk.clean)
        return logits.argmax(-1, keepdim=True)
    return runner.generate(chunk.base, n_tokens, hook=chunk.hook, edits=edits)


def intervene(
    runner,
    chunks: Sequence[PairChunk],
    interventions: Sequence[Intervention],
    n_tokens: int,
    keep_error: bool = False,
    correct: Callable[[str, str], bool] | None = None,
) -> Tensor:
    """Whether each pair's greedy answer under each intervention is its expected value,
    ``[len(interventions), n_pairs]`` bool, pairs in the order of the chunks.

    ``correct(generated_text, expected)`` defaults to RAVEL's rule (``toolkit.answers.is_correct``).
    """
    if correct is None:
        from saebench.toolkit.answers import is_correct as correct
    tokenizer = runner.model.tokenizer
    out = []
    for chunk in chunks:
        tokens = answers(runner, chunk, interventions, n_tokens, keep_error).cpu()
        rows = []
        for per_edit in tokens:
            texts = tokenizer.batch_decode(per_edit.tolist())
            rows.append([correct(t, p.expected) for t, p in zip(texts, chunk.pairs, strict=True)])
        out.append(torch.tensor(rows, dtype=torch.bool).view(len(interventions), -1))
    if not out:
        return torch.zeros((len(interventions), 0), dtype=torch.bool)
    return torch.cat(out, dim=1)
