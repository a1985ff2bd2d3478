"""The zoo tokenizer: one token per word or punctuation mark, case kept.

Multi-word place names that are attribute values ("United States", "North America") stay one
token, so every attribute is a single next-token prediction. Text is split by one regular
expression (those names first, then runs of letters and digits, then any other non-space
character) and each piece is looked up in a word-level vocabulary; unknown pieces become
``<unk>``. Decoding joins tokens with spaces and removes the space before punctuation.

The tokenizer is saved as Hugging Face fast-tokenizer files, loads offline with
``PreTrainedTokenizerFast.from_pretrained(dir)`` and prepends ``<bos>`` itself, which is what
TransformerLens expects of a tokenizer saved with ``add_bos_token=True``.

Example:
    >>> tok = load_tokenizer(model_dir())
    >>> tok("When Mary and John went to the store,")["input_ids"][0] == tok.bos_token_id
    True
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS: tuple[str, ...] = ("<pad>", "<bos>", "<eos>", "<unk>")


def split_pattern(phrases: Iterable[str]) -> str:
    """The regular expression that cuts text into tokens, longest phrases first."""
    ordered = sorted(set(phrases), key=lambda p: (-len(p), p))
    alternatives = [r"\s+".join(re.escape(w) for w in p.split()) for p in ordered]
    return "|".join([*alternatives, r"[A-Za-z0-9]+", r"[^\sA-Za-z0-9]"])


def build_tokenizer(texts: Iterable[str], phrases: Iterable[str], min_count: int = 1):
    """A ``tokenizers.Tokenizer`` whose vocabulary is the special tokens followed by every
    piece of ``texts`` seen at least ``min_count`` times, most frequent first (ties in
    alphabetical order, so the same texts always give the same ids)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors

    splitter = pre_tokenizers.Split(Regex(split_pattern(phrases)), behavior="removed", invert=True)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(piece for piece, _ in splitter.pre_tokenize_str(text))
    words = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for word in words:
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = splitter
    # WordPiece's decoder joins with spaces and, with cleanup, drops the space before "," "."
    tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<bos> $A", pair="<bos> $A <bos> $B", special_tokens=[("<bos>", vocab["<bos>"])]
    )
    return tokenizer


def save_tokenizer(tokenizer, out_dir: Path) -> None:
    """Save as Hugging Face fast-tokenizer files (``tokenizer.json``, ``tokenizer_config.json``,
    ``special_tokens_map.json``) in ``out_dir``."""
    from transformers import PreTrainedTokenizerFast

    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        add_bos_token=True,
        clean_up_tokenization_spaces=False,
        model_max_length=1_000_000,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    wrapped.save_pretrained(str(out_dir))


def load_tokenizer(path: Path):
    """The saved tokenizer as a ``PreTrainedTokenizerFast`` (offline, from files only)."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)
