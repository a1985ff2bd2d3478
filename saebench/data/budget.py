"""The token budget against what a dataset can give.

Two checks, so a budget the data cannot fill never reaches a run (nor an allocation):

- :func:`check_budget`, before any model work, from what the source knows without a
  tokenizer: a token source's exact size, or a bound for text (no tokenizer makes more than
  a few ids per byte of text). It only refuses budgets far out of reach (``--tokens 10**12``
  on a small file); the rest are counted once the tokenizer is there.
- :func:`fit_budget`, when the tokenizer is known (when planning): packs the data by the
  run's own rule, counting rows without keeping them, up to the budget. A budget the data
  cannot fill is refused, unless it is the default one: that is capped at what the data
  gives, with a warning, so the defaults work on a small dataset such as the zoo's.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from saebench.data.datasource import DataSource
from saebench.errors import SaebenchError, SaebenchWarning

DEFAULT_TOKENS = 200_000
# A generous ceiling on ids per byte of text, for the bound made before any tokenizer is
# known: BPE, WordPiece and byte fallback give at most one id per byte (plus one prefix per
# document); the factor leaves room for normalisers that expand characters.
IDS_PER_BYTE_CEILING = 4


def upper_bound(source: DataSource, context_size: int | None) -> int | None:
    """The most tokens ``source`` can give in contexts of ``context_size`` (None: the
    data's rows, or any size of at least 2), known without a tokenizer; None when unknown.

    Example:
        >>> upper_bound(data_source(torch.zeros(6, 10, dtype=torch.long)), 4)
        24
    """
    if source.rows is None:
        return None
    if source.kind == "tokens":
        width = context_size or source.row_length
        return None if width is None else source.rows * width
    if source.n_bytes is None:
        return None
    # ids: at most the ceiling per byte, plus a prefix and a separator per document; each
    # context adds one BOS, so contexts of c tokens hold at most ids * c / (c - 1).
    ids = IDS_PER_BYTE_CEILING * source.n_bytes + 2 * source.rows
    context = context_size or 2
    return ids * context // (context - 1)


def check_budget(source: DataSource, n_tokens: int, context_size: int | None, where: str) -> None:
    """Refuse ``n_tokens`` when ``source`` cannot give it, as far as is known before any
    tokenizer. ``where`` names the setting and its value in the error (``--tokens
    5000``, ``suite.yaml:6: tokens 5000``).

    Example:
        >>> check_budget(data_source("small.txt"), 10**12, None, "--tokens 10**12")
        SaebenchError: --tokens 10**12: dataset 'small.txt' (...) gives at most about ...
    """
    bound = upper_bound(source, context_size)
    if bound is None or n_tokens <= bound:
        return
    if source.kind == "tokens":
        width = context_size or source.row_length
        what = f"holds {bound} tokens ({source.rows} rows of {width} ids)"
    else:
        what = (
            f"({source.n_bytes:,} bytes of text in {source.rows:,} documents) gives at most "
            f"about {bound:,} tokens"
        )
    raise SaebenchError(
        f"{where}: dataset {source.name!r} {what}, fewer than the {n_tokens} asked for; "
        "lower the budget or give more data"
    )


def fit_budget(
    source: DataSource,
    *,
    tokenizer: Any,
    context_size: int,
    prepend_bos: bool | None,
    separator: int | None,
    n_tokens: int,
    explicit: bool,
    flag: str,
) -> int:
    """The tokens to evaluate on: ``n_tokens`` rounded up to whole contexts when ``source``
    gives them; else refused when ``explicit``, or, for the default budget, capped at what
    the source gives with a warning. ``separator`` is a token id (or None); ``flag`` names
    the budget's setting in messages.

    Example:
        >>> fit_budget(data_source("zoo"), tokenizer=tok, context_size=64, prepend_bos=True,
        ...            separator=0, n_tokens=200_000, explicit=False, flag="--tokens")
        78400  # with a warning: the zoo's text gives no more
    """
    wanted = math.ceil(n_tokens / context_size)
    rows = _rows_given(source, tokenizer, context_size, prepend_bos, separator, wanted)
    if rows == wanted:
        return wanted * context_size
    given = rows * context_size
    if rows == 0:
        raise SaebenchError(
            f"dataset {source.name!r} gives not one full {context_size}-token context; give "
            "more data or a smaller context size"
        )
    if explicit:
        raise SaebenchError(
            f"dataset {source.name!r} gives only {given} tokens in {context_size}-token "
            f"contexts, fewer than the {n_tokens} asked for; lower {flag} or give more data"
        )
    warnings.warn(
        f"dataset {source.name!r} gives {given} tokens in {context_size}-token contexts, "
        f"fewer than the default budget of {n_tokens}; evaluating on all {given} (set "
        f"{flag} to choose)",
        SaebenchWarning,
        stacklevel=2,
    )
    return given


# (fingerprint, context size, BOS, separator, rows wanted) -> rows given, so the SAEs of one
# plan that share a token set count it once
_COUNTED: dict[tuple, int] = {}


def _rows_given(source, tokenizer, context_size, prepend_bos, separator, wanted) -> int:
    from saebench.data.packing import count_rows
    from saebench.data.pretokenised import count_token_rows
    from saebench.data.special import NO_TOKENIZER, bos_id

    key = (source.fingerprint, source.kind, context_size, prepend_bos, separator, wanted)
    if key not in _COUNTED:
        if source.kind == "tokens":
            counted = count_token_rows(source, wanted)
        elif tokenizer is None:
            raise SaebenchError(NO_TOKENIZER)
        else:
            bos = bos_id(tokenizer) if prepend_bos else None
            docs = source.documents()
            counted = count_rows(docs, tokenizer, wanted, context_size, bos, separator)
        _COUNTED[key] = counted
    return _COUNTED[key]
