"""The token ids with a structural role: the ones metrics skip, BOS, and the separator."""

from __future__ import annotations

from typing import Any

from saebench.errors import SaebenchError

# The attributes SAELens's ``get_special_token_ids`` reads; chat-template tokens are left out
# on purpose, as there, so their positions still count.
_SPECIAL_ATTRS = (
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "sep_token_id",
    "decoder_start_token_id",
)
NO_TOKENIZER = (
    "the model has no tokenizer, so text cannot be tokenised; pass token ids (a [n, ctx] "
    "tensor or a .pt/.npy/.safetensors file) or give the model a tokenizer"
)
_SEPARATOR_NAMES = {"bos": "bos_token_id", "eos": "eos_token_id", "sep": "sep_token_id"}


def special_ids(tokenizer: Any) -> tuple[int, ...]:
    """BOS, EOS, PAD, SEP and decoder-start ids, those the tokenizer sets, sorted.

    Example:
        >>> special_ids(AutoTokenizer.from_pretrained("gpt2"))
        (50256,)
    """
    ids = {getattr(tokenizer, attr, None) for attr in _SPECIAL_ATTRS}
    return tuple(sorted(i for i in ids if isinstance(i, int)))


def bos_id(tokenizer: Any) -> int:
    """The tokenizer's BOS id, for a context that must start with it."""
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None:
        raise SaebenchError(
            "the tokenizer has no BOS token, so contexts cannot start with one; turn "
            "prepend_bos off"
        )
    return bos


def resolve_separator(separator: str | int | None, tokenizer: Any) -> int | None:
    """The id put between packed documents: ``"bos"``, ``"eos"`` or ``"sep"`` looked up in
    the tokenizer, an id as given, or None for none."""
    if separator is None:
        return None
    if isinstance(separator, int) and not isinstance(separator, bool):
        if separator < 0:
            raise SaebenchError(f"the separator token id must be non-negative, got {separator}")
        return separator
    if not isinstance(separator, str) or separator not in _SEPARATOR_NAMES:
        raise SaebenchError(
            f"unknown separator {separator!r}; use 'bos', 'eos', 'sep', a token id, or None "
            "for no separator"
        )
    if tokenizer is None:
        raise SaebenchError(NO_TOKENIZER)
    found = getattr(tokenizer, _SEPARATOR_NAMES[separator], None)
    if found is None:
        raise SaebenchError(
            f"the tokenizer has no {separator.upper()} token to separate documents with; "
            "choose another separator ('bos', 'eos', a token id, or None)"
        )
    return found
