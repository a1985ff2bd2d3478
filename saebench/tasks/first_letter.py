"""``first-letter``: which letter a token of the model's own vocabulary starts with, asked
with in-context examples, as SAEBench's ``absorption_first_letter`` eval (Chanin et al.
2024, "A is for Absorption", arXiv 2409.14507) asks it.

The words are the tokenizer's own tokens that are purely ASCII letters, with an optional
leading space (a BPE token ``"Ġcat"`` is the word ``" cat"``; a SentencePiece ``"▁cat"``
too, even where the tokenizer's decoder drops the space); distinct strings only. Each word
goes to ``train`` or ``test`` by a seeded hash (``test_share`` of them to test: a split by
token, as SAEBench's 80/20 shuffle). One prompt per word: ``n_icl`` examples drawn (seeded,
per word) from the other words of the same split, each ``template`` + answer, joined by
``separator`` and preceded by one (SAEBench prepends it for Mistral's tokenizer), then the
word's own ``template``::

    "\\n dog has the first letter: D\\n ... \\n cat has the first letter:"

The span ``word`` covers the word; SAEBench reads the activation at ``-6``, which is the
word's token under its template, so the evaluator reads the span's last token.

A task reads no model, but this one needs a tokenizer: ``tokenizer`` names a model
(``zoo``, ``smollm2-135m``) or a folder of Hugging Face tokenizer files, and code that has
the tokenizer already passes it (``FirstLetterTask(config, tokenizer=tok)``).

Example:
    >>> task = build_task("first-letter", {"tokenizer": "zoo"})
    >>> p = task.prompts("test")[0]
    >>> p.attributes["letter"], p.answer      # ('b', ' B')
"""

from __future__ import annotations

import hashlib
import random
import string
from functools import cached_property
from pathlib import Path

from pydantic import Field

from saebench.errors import SaebenchError
from saebench.tasks.base import Task, TaskConfig, TaskPrompt

SPAN = "word"
LETTERS = string.ascii_lowercase
_ALPHA = frozenset(string.ascii_letters)


class FirstLetterConfig(TaskConfig):
    tokenizer: str = "zoo"  # a model name (zoo, smollm2-135m) or a tokenizer folder
    template: str = "{word} has the first letter:"  # SAEBench's default
    answer: str = " {letter}"  # after the template; {letter} is upper case (SAEBench)
    separator: str = "\n"
    n_icl: int = Field(10, ge=0)  # in-context examples per prompt (SAEBench: 10)
    test_share: float = Field(0.2, gt=0, lt=1)  # share of words in test (SAEBench: 0.2)
    max_words: int | None = Field(None, ge=2)  # per split, a seeded sample (None: all)
    seed: int = 0


class FirstLetterTask(Task):
    """First letters of the tokenizer's alphabetic tokens, asked in context."""

    version = "1"
    description = "first letter of each alphabetic vocabulary token (SAEBench absorption)"
    Config = FirstLetterConfig
    splits = ("train", "test")

    def __init__(self, config=None, tokenizer=None) -> None:
        super().__init__(config)
        self._tokenizer = tokenizer

    @cached_property
    def tokenizer(self):
        return self._tokenizer if self._tokenizer is not None else load_tokenizer(self.config)

    @cached_property
    def words(self) -> dict[str, list[str]]:
        """The words of each split (sorted, then a seeded sample when ``max_words`` is set)."""
        c = self.config
        out: dict[str, list[str]] = {s: [] for s in self.splits}
        for word in alphabetic_words(self.tokenizer):
            out["test" if _hash(f"{c.seed}|split|{word}") < c.test_share else "train"].append(word)
        if c.max_words is not None:
            for split, words in out.items():
                kept = sorted(words, key=lambda w: _hash(f"{c.seed}|keep|{w}"))[: c.max_words]
                out[split] = sorted(kept)
        return out

    def build(self, split: str) -> list[TaskPrompt]:
        words = self.words[split]
        if len(words) <= self.config.n_icl:
            raise SaebenchError(
                f"task 'first-letter': the {split} split has {len(words)} words, too few for "
                f"{self.config.n_icl} examples per prompt; lower n_icl or raise max_words"
            )
        return [self._prompt(word, words, split) for word in words]

    def _prompt(self, word: str, pool: list[str], split: str) -> TaskPrompt:
        c = self.config
        rng = random.Random(f"{c.seed}|icl|{word}")
        examples: list[str] = []
        while len(examples) < c.n_icl:  # the word itself never among its examples
            pick = rng.choice(pool)
            if pick != word and pick not in examples:
                examples.append(pick)
        lines = [c.template.format(word=e) + answer_text(c.answer, e) for e in examples]
        head = c.separator + "".join(line + c.separator for line in lines)
        start = len(head) + c.template.index("{word}")
        text = head + c.template.format(word=word)
        return TaskPrompt(
            text=text,
            spans={SPAN: (start, start + len(word))},
            answer=answer_text(c.answer, word),
            attributes={"letter": first_letter(word)},
            asks="letter",
            split=split,
            tags={"word": word},
        )

    def attribute_values(self) -> dict[str, list[str]]:
        present = {first_letter(w) for ws in self.words.values() for w in ws}
        return {"letter": sorted(present)}

    def describe(self) -> dict:
        """Words per split, for ``saebench tasks show``."""
        return {split: {"words": len(words)} for split, words in self.words.items()}


def first_letter(word: str) -> str:
    """The lower-case letter ``word`` starts with (leading spaces ignored)."""
    return word.strip()[0].lower()


def answer_text(pattern: str, word: str) -> str:
    return pattern.format(letter=first_letter(word).upper())


def alphabetic_words(tokenizer) -> list[str]:
    """Distinct decoded vocabulary tokens made of ASCII letters after an optional leading
    space, sorted; special tokens are left out."""
    special = set(getattr(tokenizer, "all_special_tokens", []) or [])
    out = set()
    for token in tokenizer.get_vocab():
        if token in special:
            continue
        text = tokenizer.convert_tokens_to_string([token])
        if token.startswith("▁") and not text.startswith(" "):
            text = " " + text  # SentencePiece decoders drop a leading space (SAEBench #68)
        body = text[1:] if text.startswith(" ") else text
        if body and all(ch in _ALPHA for ch in body):
            out.add(text)
    return sorted(out)


def load_tokenizer(config: FirstLetterConfig):
    """The tokenizer ``config.tokenizer`` names: a shipped model's, or a folder's."""
    from transformers import PreTrainedTokenizerFast

    name = config.tokenizer
    if name == "zoo":
        from saebench.zoo.model import model_dir

        folder = model_dir()
    elif name == "smollm2-135m":
        from saebench.models import smollm2

        folder = smollm2.model_dir()
    else:
        folder = Path(name).expanduser()
        if not (folder / "tokenizer.json").is_file():
            raise SaebenchError(
                f"task 'first-letter': tokenizer {name!r} is neither zoo, smollm2-135m nor a "
                "folder with tokenizer.json; set tokenizer to one of them"
            )
    return PreTrainedTokenizerFast.from_pretrained(str(folder), local_files_only=True)


def _hash(text: str) -> float:
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
