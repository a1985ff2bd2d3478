"""Prompt batches: labelled texts turned into token ids with the token positions of named spans.

A prompt is a text, named character spans in it (``{"entity": (start, end)}``) and an
optional answer (the text that should follow). :func:`make_batch` tokenises a list of them
into one :class:`PromptBatch`:

* **Right padding, always.** Every prompt starts at column 0 and pads follow its last token.
  A named span's token positions are then the same as in the prompt tokenised alone, causal
  attention never lets a real token see a pad, and every reader of logits reads each example
  at its own last real position (``batch.ends``), never at column ``-1``.
* **BOS** is prepended when ``prepend_bos`` is set (default: the model's
  ``cfg.default_prepend_bos``); positions count it.
* **Spans to tokens.** A token belongs to a span when the two share at least one character
  that is not whitespace. A span that a BPE tokenizer cuts into several tokens gets its
  first and last token; GPT-2 style leading spaces do not matter: ``" Paris"`` and
  ``"Paris"`` as the span of the token ``"ĠParis"`` (or of ``"Ġ"`` + ``"Paris"``) give the
  same positions, since a whitespace-only token is never part of a span.
* **Answers** are tokenised in context, as the continuation of the prompt: the prompt text
  plus the answer (a space is put between them unless either side already has one), keeping
  the tokens after the prompt's own. An answer may take several tokens; answers are padded
  to the longest, with their lengths kept.

Example:
    >>> from saebench.models.prompts import Prompt, make_batch
    >>> text = "Kyoto is a city in the country of"
    >>> batch = make_batch(model, [Prompt(text, {"entity": (0, 5)}, answer="Japan")])
    >>> batch.last("entity")       # tensor([1]): the token after <bos>
    >>> batch.ends                 # tensor([8]): where the next-token logits are read
    >>> batch.answer_ids           # [1, 1] ids of "Japan"
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor

from saebench.errors import SaebenchError

Span = tuple[int, int]


@dataclass(frozen=True)
class Prompt:
    """A text with named character spans ``{name: (start, end)}`` and an optional answer."""

    text: str
    spans: Mapping[str, Span] = field(default_factory=dict)
    answer: str | None = None


@dataclass(frozen=True)
class PromptBatch:
    """Right-padded token ids of several prompts with the token positions of their spans.

    ``tokens`` and ``attention_mask`` are ``[batch, width]``; ``spans[name]`` is
    ``[batch, 2]`` (first and last token of the span); ``answer_ids`` is
    ``[batch, max answer length]`` padded with ``pad_id``, ``answer_lengths`` ``[batch]``.
    """

    tokens: Tensor
    attention_mask: Tensor
    lengths: Tensor
    spans: dict[str, Tensor]
    answer_ids: Tensor | None
    answer_lengths: Tensor | None
    pad_id: int
    prompts: tuple[Any, ...] = ()

    def __len__(self) -> int:
        return self.tokens.shape[0]

    @property
    def ends(self) -> Tensor:
        """Each example's last real position ``[batch]``: where its next token is predicted."""
        return self.lengths - 1

    @property
    def padded(self) -> bool:
        """Whether any example is shorter than the batch width."""
        return bool((self.lengths < self.tokens.shape[1]).any())

    def first(self, name: str) -> Tensor:
        """Position of the first token of span ``name`` in every example ``[batch]``."""
        return self._span(name)[:, 0]

    def last(self, name: str) -> Tensor:
        """Position of the last token of span ``name`` in every example ``[batch]``."""
        return self._span(name)[:, 1]

    def _span(self, name: str) -> Tensor:
        if name not in self.spans:
            known = ", ".join(sorted(self.spans)) or "none"
            raise SaebenchError(f"the prompts name no span {name!r} (spans: {known})")
        return self.spans[name]

    def to(self, device: str | torch.device) -> PromptBatch:
        """The same batch with every tensor on ``device``."""

        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return replace(
            self,
            tokens=self.tokens.to(device),
            attention_mask=self.attention_mask.to(device),
            lengths=self.lengths.to(device),
            spans={k: v.to(device) for k, v in self.spans.items()},
            answer_ids=move(self.answer_ids),
            answer_lengths=move(self.answer_lengths),
        )

    def select(self, rows: Sequence[int] | Tensor) -> PromptBatch:
        """The examples ``rows``, trimmed to their own width (still right-padded)."""
        index = torch.as_tensor(rows, dtype=torch.long, device=self.tokens.device)
        lengths = self.lengths[index]
        width = int(lengths.max()) if len(index) else 0
        answers, answer_lengths = self.answer_ids, self.answer_lengths
        if answers is not None and answer_lengths is not None:
            answer_lengths = answer_lengths[index]
            answers = answers[index, : max(int(answer_lengths.max()), 1) if len(index) else 0]
        return replace(
            self,
            tokens=self.tokens[index, :width],
            attention_mask=self.attention_mask[index, :width],
            lengths=lengths,
            spans={k: v[index] for k, v in self.spans.items()},
            answer_ids=answers,
            answer_lengths=answer_lengths,
            prompts=tuple(self.prompts[i] for i in index.tolist()) if self.prompts else (),
        )

    def chunks(self, size: int) -> Iterator[PromptBatch]:
        """Consecutive sub-batches of at most ``size`` examples."""
        for start in range(0, len(self), size):
            yield self.select(range(start, min(start + size, len(self))))

    def matches(self, generated: Tensor) -> Tensor:
        """Whether greedy tokens ``[..., batch, n]`` start with each example's answer tokens
        (``[..., batch]`` bool; positions past an answer's length are ignored)."""
        if self.answer_ids is None or self.answer_lengths is None:
            raise SaebenchError("the prompts of this batch have no answers to compare with")
        n = self.answer_ids.shape[1]
        if generated.shape[-1] < n:
            raise SaebenchError(f"compare at least {n} generated tokens (the longest answer)")
        cols = torch.arange(n, device=generated.device)
        counted = cols < self.answer_lengths[:, None]
        same = (generated[..., :n] == self.answer_ids) | ~counted
        return same.all(-1)


def make_batch(
    model_or_tokenizer,
    prompts: Sequence[Prompt | str],
    prepend_bos: bool | None = None,
    device: str | torch.device | None = None,
) -> PromptBatch:
    """Tokenise ``prompts`` (``Prompt`` objects, any objects with ``text``/``spans``/
    ``answer``, or plain strings) into one right-padded :class:`PromptBatch`.

    ``model_or_tokenizer`` is a HookedTransformer (its tokenizer, ``cfg.default_prepend_bos``
    and ``cfg.device`` are used) or a fast Hugging Face tokenizer (BOS by default, CPU).
    Every prompt must name the same spans.
    """
    tokenizer, default_bos, default_device = _unpack(model_or_tokenizer)
    bos = default_bos if prepend_bos is None else prepend_bos
    items = [Prompt(p) if isinstance(p, str) else p for p in prompts]
    if not items:
        raise SaebenchError("make_batch needs at least one prompt")
    names = set(items[0].spans)
    rows = []
    for index, item in enumerate(items):
        if set(item.spans) != names:
            raise SaebenchError(
                f"prompt {index} names spans {sorted(item.spans)} but prompt 0 names "
                f"{sorted(names)}; a batch needs the same spans in every prompt"
            )
        rows.append(_encode(tokenizer, item, bos, index))
    return _assemble(rows, items, sorted(names), _pad_id(tokenizer), device or default_device)


def _unpack(model_or_tokenizer) -> tuple[Any, bool, str | torch.device]:
    cfg = getattr(model_or_tokenizer, "cfg", None)
    if cfg is None:
        return model_or_tokenizer, True, "cpu"
    if model_or_tokenizer.tokenizer is None:
        raise SaebenchError(f"model {cfg.model_name!r} has no tokenizer to tokenise prompts")
    return model_or_tokenizer.tokenizer, bool(cfg.default_prepend_bos), cfg.device


def _pad_id(tokenizer) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.bos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0  # any id works: pads are masked and never read


@dataclass(frozen=True)
class _Encoded:
    ids: list[int]
    spans: dict[str, Span]  # token positions (first, last), BOS counted
    answer: list[int] | None


def _encode(tokenizer, prompt, bos: bool, index: int) -> _Encoded:
    text = prompt.text
    ids, offsets = _tokenise(tokenizer, text)
    if not ids:
        raise SaebenchError(f"prompt {index} ({text!r}) has no tokens")
    shift = 1 if bos else 0
    spans = {}
    for name, span in prompt.spans.items():
        first, last = _span_tokens(text, offsets, span, f"span {name!r} of prompt {index}")
        spans[name] = (first + shift, last + shift)
    answer = None
    if prompt.answer is not None:
        answer = _answer_ids(tokenizer, text, ids, prompt.answer, index)
    if bos:
        if tokenizer.bos_token_id is None:
            raise SaebenchError("prepend_bos is set but the tokenizer has no BOS token")
        ids = [tokenizer.bos_token_id, *ids]
    return _Encoded(ids, spans, answer)


def _tokenise(tokenizer, text: str) -> tuple[list[int], list[Span]]:
    try:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    except NotImplementedError as exc:  # slow tokenizers have no offsets
        raise SaebenchError(
            "prompt batches need a fast tokenizer (offset mappings); load the model with a "
            "PreTrainedTokenizerFast"
        ) from exc
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def _span_tokens(text: str, offsets: list[Span], span: Span, what: str) -> Span:
    """First and last token sharing a non-whitespace character with ``span``."""
    start, end = span
    if not 0 <= start < end <= len(text):
        raise SaebenchError(f"{what}: ({start}, {end}) is not a span of a {len(text)}-char text")
    inside = [
        i
        for i, (a, b) in enumerate(offsets)
        if text[max(a, start) : min(b, end)].strip()  # shares a visible character
    ]
    if not inside:
        raise SaebenchError(f"{what}: {text[start:end]!r} covers no token (whitespace only?)")
    return inside[0], inside[-1]


def _answer_ids(tokenizer, text: str, ids: list[int], answer: str, index: int) -> list[int]:
    """The answer's tokens as the model would see them after the prompt."""
    gap = "" if answer[:1].isspace() or text[-1:].isspace() else " "
    joint, _ = _tokenise(tokenizer, text + gap + answer)
    if joint[: len(ids)] != ids or len(joint) == len(ids):
        raise SaebenchError(
            f"prompt {index}: the answer {answer!r} does not tokenise as a continuation of "
            f"{text!r} (the tokens merge across the boundary); end the prompt without trailing "
            "whitespace and start the answer at a word"
        )
    return joint[len(ids) :]


def _assemble(rows: list[_Encoded], items, names, pad_id: int, device) -> PromptBatch:
    width = max(len(r.ids) for r in rows)
    tokens = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, row in enumerate(rows):
        tokens[r, : len(row.ids)] = torch.tensor(row.ids)
        mask[r, : len(row.ids)] = 1
    spans = {name: torch.tensor([row.spans[name] for row in rows]) for name in names}
    answer_ids = answer_lengths = None
    if any(row.answer is not None for row in rows):
        if any(row.answer is None for row in rows):
            raise SaebenchError("either every prompt of a batch has an answer or none has")
        answer_lengths = torch.tensor([len(row.answer) for row in rows])
        answer_ids = torch.full((len(rows), int(answer_lengths.max())), pad_id, dtype=torch.long)
        for r, row in enumerate(rows):
            answer_ids[r, : len(row.answer)] = torch.tensor(row.answer)
    batch = PromptBatch(
        tokens=tokens,
        attention_mask=mask,
        lengths=mask.sum(1),
        spans=spans,
        answer_ids=answer_ids,
        answer_lengths=answer_lengths,
        pad_id=pad_id,
        prompts=tuple(items),
    )
    return batch.to(device)


def token_id(model_or_tokenizer, word: str) -> int:
    """The id of ``word``, which must be exactly one known token (no special tokens added).

    Example:
        >>> token_id(model, "Japan")
    """
    tokenizer = getattr(model_or_tokenizer, "tokenizer", None) or model_or_tokenizer
    ids = tokenizer(word, add_special_tokens=False)["input_ids"]
    if len(ids) != 1 or ids[0] == tokenizer.unk_token_id:
        raise ValueError(f"{word!r} is not one token of this model's vocabulary (ids {ids})")
    return ids[0]
