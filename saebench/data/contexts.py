"""Token sets: the ``[n_contexts, context_size]`` ids every evaluator sees.

Text is tokenised and packed by SAELens's rule (see :mod:`saebench.data.packing`); token ids
are used as given (see :mod:`saebench.data.pretokenised`). Either way there are
``ceil(n_tokens / context_size)`` contexts.

The BOS check: token ids are never changed, so they may disagree with how the SAE was
trained. :func:`bos_check` warns when the SAE expects BOS first (``prepend_bos``) but some
contexts do not start with the model's BOS id, or when the SAE was trained without BOS but
every context starts with it. It says nothing when the model has no BOS id.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from saebench.data import special
from saebench.data.datasource import DataSource
from saebench.data.packing import pack_documents
from saebench.data.pretokenised import token_rows
from saebench.data.sources import data_source
from saebench.data.special import NO_TOKENIZER, bos_id, resolve_separator, special_ids
from saebench.errors import SaebenchError

__all__ = ["TokenSet", "bos_check", "make_token_set", "resolve_separator", "special_ids"]


@dataclass(frozen=True, eq=False)
class TokenSet:
    """``tokens [n_contexts, context_size]`` (int64), the ids never counted in a metric, and
    the source they came from."""

    tokens: Tensor
    special_ids: tuple[int, ...]
    source: DataSource

    @property
    def n_tokens(self) -> int:
        return self.tokens.numel()

    @property
    def context_size(self) -> int:
        return self.tokens.shape[1]

    def mask(self, tokens: Tensor | None = None) -> Tensor:
        """True where a token counts in metrics (not one of ``special_ids``)."""
        tokens = self.tokens if tokens is None else tokens
        special = torch.tensor(self.special_ids, dtype=tokens.dtype, device=tokens.device)
        return ~torch.isin(tokens, special)


def make_token_set(
    source: Any,
    *,
    tokenizer: Any = None,
    context_size: int | None = None,
    n_tokens: int,
    prepend_bos: bool = True,
    separator: str | int | None = "bos",
    special_ids: Sequence[int] | None = None,
    vocab_size: int | None = None,
) -> TokenSet:
    """``ceil(n_tokens / context_size)`` contexts from ``source`` (anything
    :func:`data_source` takes).

    Text needs ``tokenizer`` and ``context_size``; ``prepend_bos`` and ``separator`` (``"bos"``
    as in SAELens, ``"eos"``, ``"sep"``, an id, or None) say how it is packed. Token ids need
    neither: ``context_size=None`` keeps the data's row length, and ``prepend_bos`` and
    ``separator`` do not apply (see :func:`bos_check`). ``special_ids`` defaults to the
    tokenizer's (none without one); ``vocab_size``, when given, refuses ids outside it.

    Example:
        >>> ts = make_token_set(["the cat sat"] * 100, tokenizer=tok, context_size=16, n_tokens=64)
        >>> ts.tokens.shape
        torch.Size([4, 16])
    """
    source = data_source(source)
    _check_sizes(n_tokens, context_size, source)
    if source.kind == "text":
        tokens = _text_rows(source, tokenizer, context_size, n_tokens, prepend_bos, separator)
    else:
        tokens = token_rows(source, context_size, n_tokens)
    _check_vocabulary(tokens, vocab_size, source.name)
    if special_ids is None:
        special_ids = special.special_ids(tokenizer) if tokenizer is not None else ()
    return TokenSet(tokens, tuple(sorted(set(special_ids))), source)


def bos_check(token_set: TokenSet, bos_id: int | None, prepend_bos: bool) -> str | None:
    """A one-line warning when the contexts' first tokens disagree with ``prepend_bos``, the
    SAE's training setting; None when they agree or ``bos_id`` is None.

    Example:
        >>> bos_check(make_token_set(ids, n_tokens=1024), bos_id=1, prepend_bos=True)
        "12 of 16 contexts of 'inline' do not start with BOS (id 1), ..."
    """
    if bos_id is None:
        return None
    starts = int((token_set.tokens[:, 0] == bos_id).sum())
    rows, name = len(token_set.tokens), token_set.source.name
    if prepend_bos and starts < rows:
        return (
            f"{rows - starts} of {rows} contexts of {name!r} do not start with BOS (id "
            f"{bos_id}), but the SAE was trained with BOS first; its numbers may be worse "
            "than in training unless each row starts with BOS"
        )
    if not prepend_bos and starts == rows:
        return (
            f"every context of {name!r} starts with BOS (id {bos_id}), but the SAE was "
            "trained without BOS; its numbers may differ from training unless the BOS is "
            "dropped"
        )
    return None


def _check_sizes(n_tokens: int, context_size: int | None, source: DataSource) -> None:
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, int) or n_tokens < 1:
        raise SaebenchError(f"the token budget must be a positive whole number, got {n_tokens!r}")
    if context_size is None:
        if source.kind == "text":
            raise SaebenchError("text needs a context size to be packed into contexts")
        return
    if isinstance(context_size, bool) or not isinstance(context_size, int) or context_size < 2:
        raise SaebenchError(
            f"the context size must be a whole number of at least 2 tokens (a token and the "
            f"one it predicts), got {context_size!r}"
        )


def _text_rows(
    source: DataSource,
    tokenizer: Any,
    context_size: int,
    n_tokens: int,
    prepend_bos: bool,
    separator: str | int | None,
) -> Tensor:
    if tokenizer is None:
        raise SaebenchError(NO_TOKENIZER)
    bos = bos_id(tokenizer) if prepend_bos else None
    sep = resolve_separator(separator, tokenizer)
    wanted = math.ceil(n_tokens / context_size)
    rows = pack_documents(source.documents(), tokenizer, wanted, context_size, bos, sep)
    if len(rows) < wanted:
        raise SaebenchError(
            f"dataset {source.name!r} gives only {rows.numel()} tokens in "
            f"{context_size}-token contexts, fewer than the {n_tokens} asked for; lower the "
            "token budget or give more text"
        )
    return rows


def _check_vocabulary(tokens: Tensor, vocab_size: int | None, where: str) -> None:
    bad = tokens < 0
    if vocab_size is not None:
        bad |= tokens >= vocab_size
    if not bad.any():
        return
    row, position = divmod(int(bad.view(-1).nonzero()[0]), tokens.shape[1])
    found = int(tokens[row, position])
    allowed = f"the model's vocabulary of {vocab_size} ids" if vocab_size else "the vocabulary"
    raise SaebenchError(
        f"dataset {where!r}: token id {found} (row {row}, position {position}) is outside "
        f"{allowed}; token ids must lie in [0, {vocab_size or 'vocab size'}) (was the data "
        "tokenised for another model?)"
    )
