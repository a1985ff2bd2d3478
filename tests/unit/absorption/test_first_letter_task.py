"""first-letter task: which tokens are words (BPE and SentencePiece spaces, specials, non
letters), the split, the prompts SAEBench builds, and the zoo's own vocabulary."""

from __future__ import annotations

import pytest

from saebench.errors import SaebenchError
from saebench.tasks import build_task
from saebench.tasks.first_letter import FirstLetterTask, alphabetic_words


class FakeTokenizer:
    """GPT-2 style "Ġ" tokens, a SentencePiece "▁" token whose decoder drops the space,
    specials and tokens that are not words."""

    vocab = ["Ġcat", "dog", "▁Sun", "Ġ123", "it's", "<bos>", "Ġ", "é", "ĠDog", "x", "Ġcat"]
    all_special_tokens = ["<bos>"]

    def get_vocab(self):
        return {t: i for i, t in enumerate(self.vocab)}

    def convert_tokens_to_string(self, tokens):
        (token,) = tokens
        return token.replace("Ġ", " ").replace("▁", "")


def words(n):
    """A tokenizer of ``n`` words, a letter each from a..t, some with a leading space."""

    class Many(FakeTokenizer):
        vocab = [
            ("Ġ" if i % 2 else "")
            + "abcdefghijklmnopqrst"[i % 20]
            + f"w{i:03d}".replace("0", "o")
            .replace("1", "i")
            .replace("2", "z")
            .replace("3", "e")
            .replace("4", "f")
            .replace("5", "s")
            .replace("6", "g")
            .replace("7", "t")
            .replace("8", "b")
            .replace("9", "n")
            for i in range(n)
        ]

    return Many()


def test_alphabetic_words_handle_spaces_specials_and_non_letters():
    assert alphabetic_words(FakeTokenizer()) == [" Dog", " Sun", " cat", "dog", "x"]


def test_splits_are_disjoint_seeded_and_about_the_test_share():
    tok = words(400)
    task = FirstLetterTask({"n_icl": 3}, tokenizer=tok)
    train, test = task.words["train"], task.words["test"]
    assert not set(train) & set(test) and len(train) + len(test) == 400
    assert 50 < len(test) < 110  # 20 % of 400, by hash
    again = FirstLetterTask({"n_icl": 3}, tokenizer=tok)
    other = FirstLetterTask({"n_icl": 3, "seed": 1}, tokenizer=tok)
    assert again.words == task.words and other.words != task.words
    capped = FirstLetterTask({"n_icl": 3, "max_words": 30}, tokenizer=tok).words
    assert len(capped["train"]) == 30 and set(capped["train"]) <= set(train)


def test_a_prompt_is_saebench_icl_format_with_the_word_span():
    task = FirstLetterTask({"n_icl": 3}, tokenizer=words(200))
    prompts = task.prompts("test")
    p = prompts[0]
    word = p.tags["word"]
    lines = p.text.split("\n")
    assert lines[0] == "" and len(lines) == 5  # separator first, 3 examples, the query
    for line in lines[1:4]:
        example, letter = line.rsplit(": ", 1)
        example = example.removesuffix(" has the first letter")
        assert letter == example.strip()[0].upper()
        assert example in task.words["test"] and example != word
    assert lines[4] == f"{word} has the first letter:"
    start, end = p.spans["word"]
    assert p.text[start:end] == word and p.answer == " " + word.strip()[0].upper()
    assert p.attributes["letter"] == word.strip()[0].lower() and p.split == "test"
    assert p.text == FirstLetterTask({"n_icl": 3}, tokenizer=words(200)).prompts("test")[0].text


def test_too_few_words_for_the_examples_is_a_clear_error():
    with pytest.raises(SaebenchError, match="lower n_icl"):
        FirstLetterTask({"n_icl": 10, "max_words": 5}, tokenizer=words(200)).prompts("test")


def test_the_registered_task_reads_the_zoo_vocabulary():
    task = build_task("first-letter", {"tokenizer": "zoo", "n_icl": 6})
    train, test = task.words["train"], task.words["test"]
    # the zoo's 1807 tokens: 4 specials, 1778 purely alphabetic, the rest digits, marks
    # and multi-word names
    assert len(train) + len(test) == 1778 and len(test) == 334
    assert "Aaron" in train + test and "Abu Dhabi" not in train + test
    assert (
        task.spec().fingerprint
        == build_task("first-letter", {"tokenizer": "zoo", "n_icl": 6}).spec().fingerprint
    )
