"""Packing text into rows: hand-worked rows, and identity with SAELens's own packer."""

import random
from itertools import islice

import pytest
import torch
from helpers import WORDS
from sae_lens.tokenization_and_batching import concat_and_batch_sequences

from saebench.data import data_source, make_token_set
from saebench.data.datasource import DataSource

# Word ids of the test tokenizer: <bos>=0, <eos>=1, then WORDS from 4.
THE, CAT, SAT, A, DOG, RAN, ON, MAT, BIRD, AND = 4, 6, 9, 5, 7, 10, 12, 15, 8, 23


def _pack(tok, docs, context_size, n_tokens, prepend_bos=True, separator="eos"):
    return make_token_set(
        docs,
        tokenizer=tok,
        context_size=context_size,
        n_tokens=n_tokens,
        prepend_bos=prepend_bos,
        separator=separator,
    ).tokens


def test_a_document_ending_at_a_row_end_is_not_followed_by_a_separator(tok):
    docs = ["the cat sat", "a dog", "ran on the mat", "bird"]
    rows = _pack(tok, docs, context_size=4, n_tokens=16)
    # Row 0 ends with the first document; row 1 ends with a separator, since "ran" does not
    # fit after "a dog"; "ran on the mat" carries over into row 3 after its BOS.
    assert rows.tolist() == [
        [0, THE, CAT, SAT],
        [0, A, DOG, 1],
        [0, RAN, ON, THE],
        [0, MAT, 1, BIRD],
    ]


def test_without_bos_or_separator_rows_are_the_plain_stream(tok):
    docs = ["the cat sat", "a dog", "ran on the mat", "bird"]
    rows = _pack(tok, docs, context_size=4, n_tokens=8, prepend_bos=False, separator=None)
    assert rows.tolist() == [[THE, CAT, SAT, A], [DOG, RAN, ON, THE]]


def test_an_id_separator_is_skipped_before_a_document_starting_with_it(tok):
    rows = _pack(tok, ["the cat", "and a dog", "sat"], 8, 8, separator=AND)
    assert rows.tolist() == [[0, THE, CAT, AND, A, DOG, AND, SAT]]


def _documents(context_size, prepend_bos, seed=0):
    """Documents that end exactly at a row's end, end one short of it (so a separator closes
    the row), run over several rows, are empty, or start with a special token."""
    body = context_size - 1 if prepend_bos else context_size
    rng = random.Random(seed)
    lengths = [body, body - 1, 3, 0, 3 * context_size + 2, body]
    lengths += [
        rng.choice([0, 1, 2, 5, body, context_size, 2 * context_size + 3]) for _ in range(60)
    ]
    docs = [" ".join(rng.choice(WORDS) for _ in range(n)) for n in lengths]
    docs[2] = "<eos> and the"
    docs[7] = "<bos> a cat"
    return docs


@pytest.mark.parametrize("prepend_bos", [True, False])
@pytest.mark.parametrize("separator", ["bos", "eos", AND, None])
def test_rows_equal_saelens_concat_and_batch_sequences(tok, prepend_bos, separator):
    context_size, n_rows = 8, 40
    docs = _documents(context_size, prepend_bos)
    ours = _pack(tok, docs, context_size, n_rows * context_size, prepend_bos, separator)
    sep_id = {"bos": 0, "eos": 1}.get(separator, separator)
    ids = tok(docs, add_special_tokens=False)["input_ids"]
    theirs = concat_and_batch_sequences(
        (torch.tensor(d, dtype=torch.long) for d in ids),
        context_size=context_size,
        begin_batch_token_id=0 if prepend_bos else None,
        begin_sequence_token_id=None,
        sequence_separator_token_id=sep_id,
    )
    assert torch.equal(ours, torch.stack(list(islice(theirs, n_rows))))
    # The first document fills row 0 exactly, so row 1 starts with the second document.
    first_of_second = ids[1][0]
    assert ours[1, : 2 if prepend_bos else 1].tolist() == ([0] if prepend_bos else []) + [
        first_of_second
    ]


def test_reading_stops_once_full_and_tokenises_in_chunks(tok):
    read, calls = [0], []

    def endless():
        while True:
            read[0] += 1
            yield "the cat sat on the mat"

    class Recording:
        def __getattr__(self, name):
            return getattr(tok, name)

        def __call__(self, texts, **kwargs):
            calls.append(len(texts))
            return tok(texts, **kwargs)

    source = DataSource("endless", "0", "text", {"type": "memory"}, endless)
    rows = make_token_set(source, tokenizer=Recording(), context_size=16, n_tokens=16 * 500)
    assert rows.tokens.shape == (500, 16)
    # 500 rows of 15 text ids take 7500 ids: 1072 documents of 7 (6 words and a separator).
    assert calls == [256] * 5 and read[0] == 5 * 256


def _packing_peak(tok, source, n_tokens):
    import tracemalloc

    tracemalloc.start()
    try:
        make_token_set(source, tokenizer=tok, context_size=64, n_tokens=n_tokens)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_held_while_packing_does_not_grow_with_the_budget(tok):
    source = data_source([" ".join(WORDS[i % 30 : i % 30 + 4] * 5) for i in range(12_000)])
    small, large = _packing_peak(tok, source, 50_000), _packing_peak(tok, source, 200_000)
    # Holding every id in a Python list, as before, costs 8 bytes a token more: 1.2 MB here.
    # The preallocated tensor is not traced; what is traced is one chunk of documents.
    assert large - small < 150_000
