"""Tokenise documents into fixed-length contexts, the unit every evaluator sees."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from saebench.data.sources import TextSource
from saebench.errors import SaebenchError


@dataclass
class TokenSet:
    """``tokens [n_contexts, context_size]`` and the ids never counted in a metric."""

    tokens: Tensor
    special_ids: tuple[int, ...]
    source: TextSource

    @property
    def n_tokens(self) -> int:
        return self.tokens.numel()

    @property
    def context_size(self) -> int:
        return self.tokens.shape[1]

    def mask(self, tokens: Tensor | None = None) -> Tensor:
        """True where a token counts in metrics (not BOS, EOS or padding)."""
        tokens = self.tokens if tokens is None else tokens
        return ~torch.isin(tokens, torch.tensor(self.special_ids, device=tokens.device))


def special_ids(tokenizer) -> tuple[int, ...]:
    ids = {tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}
    return tuple(sorted(i for i in ids if i is not None))


def make_contexts(
    tokenizer,
    source: TextSource,
    context_size: int,
    n_tokens: int,
    prepend_bos: bool = True,
    chunk: int = 256,
) -> TokenSet:
    """Pack documents, separated by EOS (or BOS), into ``ceil(n_tokens / context_size)``
    contexts, each starting with BOS when ``prepend_bos``.

    Example:
        >>> ts = make_contexts(model.tokenizer, text_source(["hello world"] * 100), 16, 64)
        >>> ts.tokens.shape
        torch.Size([4, 16])
    """
    n_contexts = max(1, math.ceil(n_tokens / context_size))
    bos = tokenizer.bos_token_id
    if prepend_bos and bos is None:
        raise SaebenchError("the tokenizer has no BOS token; run with prepend_bos off")
    separator = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else bos
    body = context_size - 1 if prepend_bos else context_size
    needed = n_contexts * body
    stream: list[int] = []
    batch: list[str] = []
    for document in source:
        batch.append(document)
        if len(batch) == chunk:
            _extend(stream, tokenizer, batch, separator)
            batch = []
            if len(stream) >= needed:
                break
    if batch and len(stream) < needed:
        _extend(stream, tokenizer, batch, separator)
    if len(stream) < needed:
        have = len(stream) // body * context_size
        raise SaebenchError(
            f"dataset {source.name!r} gives only {have} tokens in {context_size}-token contexts, "
            f"fewer than the {n_tokens} asked for; lower --tokens or give more text"
        )
    rows = torch.tensor(stream[:needed], dtype=torch.long).view(n_contexts, body)
    if prepend_bos:
        rows = torch.cat([torch.full((n_contexts, 1), bos, dtype=torch.long), rows], dim=1)
    return TokenSet(rows, special_ids(tokenizer), source)


def _extend(stream: list[int], tokenizer, documents: list[str], separator) -> None:
    for ids in tokenizer(documents, add_special_tokens=False)["input_ids"]:
        stream.extend(ids)
        if separator is not None:
            stream.append(separator)
