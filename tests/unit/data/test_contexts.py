"""make_token_set on text and on token ids, its refusals, the BOS check and special ids."""

import numpy as np
import pytest
import torch
from sae_lens.util import get_special_token_ids

from saebench.data import DataSource, bos_check, make_token_set, resolve_separator, special_ids
from saebench.errors import SaebenchError

IDS = torch.arange(60).view(6, 10)  # six rows of ten ids, row r holding 10r .. 10r+9


def test_token_rows_are_used_as_given():
    ts = make_token_set(IDS, n_tokens=25, special_ids=[0, 1])
    # ceil(25 / 10) = 3 rows, unchanged: no BOS added, nothing repacked.
    assert torch.equal(ts.tokens, IDS[:3])
    assert ts.source.row_length == 10
    assert ts.tokens.dtype == torch.int64
    assert ts.context_size == 10 and ts.n_tokens == 30
    assert ts.special_ids == (0, 1)
    assert ts.mask().tolist()[0] == [False, False] + [True] * 8


def test_a_smaller_context_size_keeps_each_rows_first_ids():
    ts = make_token_set(IDS.numpy().astype(np.int32), context_size=4, n_tokens=10)
    assert ts.tokens.tolist() == [[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]]


def test_a_larger_context_size_is_refused():
    with pytest.raises(SaebenchError, match=r"context size 12 is longer than .* \(10 ids\)"):
        make_token_set(IDS, context_size=12, n_tokens=12)


def test_too_few_rows_say_how_many_tokens_there_are():
    with pytest.raises(SaebenchError, match="gives only 60 tokens .* lower the token budget"):
        make_token_set(IDS, n_tokens=61)


def test_ids_outside_the_vocabulary_are_named():
    with pytest.raises(SaebenchError, match=r"token id 50 \(row 5, position 0\) .* of 50 ids"):
        make_token_set(IDS, n_tokens=60, vocab_size=50)
    make_token_set(IDS, n_tokens=50, vocab_size=50)  # the first five rows fit
    negative = IDS.clone()
    negative[1, 3] = -100
    with pytest.raises(SaebenchError, match=r"token id -100 \(row 1, position 3\)"):
        make_token_set(negative, n_tokens=20)


def test_ragged_rows_are_refused_unless_every_row_reaches_the_context_size():
    rows = [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10, 11, 12]]
    with pytest.raises(SaebenchError, match=r"different lengths \(row 0: 4 ids, row 1: 3\)"):
        make_token_set(rows, n_tokens=12)
    assert make_token_set(rows, context_size=3, n_tokens=9).tokens.tolist() == [
        [1, 2, 3],
        [5, 6, 7],
        [8, 9, 10],
    ]
    with pytest.raises(SaebenchError, match="row 1 has 3 ids, fewer than the context size 4"):
        make_token_set(rows, context_size=4, n_tokens=12)


def test_a_list_of_id_lists_is_token_data_not_text(tok):
    ts = make_token_set([[7, 8], [9, 10]], tokenizer=tok, n_tokens=4)
    assert ts.source.kind == "tokens"
    assert ts.tokens.tolist() == [[7, 8], [9, 10]]
    assert ts.special_ids == (0, 1, 2)  # the tokenizer's, since none were passed


def test_text_without_a_tokenizer_names_both_ways_out():
    with pytest.raises(SaebenchError) as caught:
        make_token_set(["the cat"] * 10, tokenizer=None, context_size=4, n_tokens=8)
    assert str(caught.value) == (
        "the model has no tokenizer, so text cannot be tokenised; pass token ids (a [n, ctx] "
        "tensor or a .pt/.npy/.safetensors file) or give the model a tokenizer"
    )


def test_too_little_text_says_how_many_tokens_it_gives(tok):
    # "the cat" packs as BOS the cat EOS: 8-token rows hold two documents and a separator.
    with pytest.raises(SaebenchError, match="gives only 8 tokens in 8-token contexts, fewer"):
        make_token_set(["the cat"] * 3, tokenizer=tok, context_size=8, n_tokens=9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_tokens": 0}, "token budget must be a positive whole number, got 0"),
        ({"n_tokens": -5}, "got -5"),
        ({"n_tokens": 8, "context_size": 1}, "at least 2 tokens"),
        ({"n_tokens": 8, "context_size": 0}, "at least 2 tokens"),
        ({"n_tokens": 8, "context_size": None}, "text needs a context size"),
        ({"n_tokens": 8, "context_size": 4, "separator": "cls"}, "unknown separator 'cls'"),
        ({"n_tokens": 8, "context_size": 4, "separator": "sep"}, "has no SEP token"),
    ],
)
def test_bad_sizes_and_separators_are_refused(tok, kwargs, message):
    with pytest.raises(SaebenchError, match=message):
        make_token_set(["the cat sat"] * 20, tokenizer=tok, **kwargs)


def test_a_tokenizer_without_bos_cannot_prepend_it(tok):
    class NoBos:
        bos_token_id = None
        eos_token_id = 1

        def __call__(self, texts, **kwargs):
            return tok(texts, **kwargs)

    with pytest.raises(SaebenchError, match="no BOS token.*turn prepend_bos off"):
        make_token_set(["the cat"] * 9, tokenizer=NoBos(), context_size=4, n_tokens=8)
    rows = make_token_set(
        ["the cat"] * 9,
        tokenizer=NoBos(),
        context_size=4,
        n_tokens=8,
        prepend_bos=False,
        separator="eos",
    )
    assert rows.tokens.tolist() == [[4, 6, 1, 4], [6, 1, 4, 6]]


def test_bos_check_warns_only_on_a_mismatch():
    with_bos = make_token_set(torch.tensor([[0, 5, 6], [0, 7, 8]]), n_tokens=6)
    mixed = make_token_set(torch.tensor([[0, 5, 6], [4, 7, 8]]), n_tokens=6)
    assert bos_check(with_bos, bos_id=0, prepend_bos=True) is None
    assert bos_check(mixed, bos_id=0, prepend_bos=False) is None
    assert bos_check(mixed, bos_id=None, prepend_bos=True) is None
    assert bos_check(mixed, bos_id=0, prepend_bos=True).startswith(
        "1 of 2 contexts of 'inline' do not start with BOS (id 0)"
    )
    warning = bos_check(with_bos, bos_id=0, prepend_bos=False)
    assert "every context of 'inline' starts with BOS (id 0)" in warning
    assert "\n" not in warning


def test_packed_text_passes_the_bos_check(tok):
    ts = make_token_set(["the cat sat"] * 20, tokenizer=tok, context_size=8, n_tokens=32)
    assert bos_check(ts, tok.bos_token_id, prepend_bos=True) is None


def test_special_ids_are_the_ones_saelens_skips(tok):
    class Seq2Seq:
        bos_token_id, eos_token_id, pad_token_id = 0, 1, 1
        sep_token_id, decoder_start_token_id = 7, 9

    assert special_ids(tok) == tuple(sorted(get_special_token_ids(tok))) == (0, 1, 2)
    assert special_ids(Seq2Seq()) == tuple(sorted(get_special_token_ids(Seq2Seq()))) == (0, 1, 7, 9)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (["abc", "def"], "row 0: expected lists of integer token ids"),
        ([5, 6], "row 0: expected lists of integer token ids"),
        ([[1, 2], [3, "x"]], "rows 0 to 1: expected lists of integer token ids"),
        ([[1.5, 2.0]], "row 0: expected lists of integer token ids"),
        ([[[1], [2]]], "row 0: expected lists of integer token ids"),
    ],
)
def test_token_rows_that_are_not_id_lists_are_refused(block, message):
    # What a Hugging Face token column could hold: the reader hands its rows on unchecked.
    source = DataSource("hub", "0", "tokens", {"type": "memory"}, lambda: iter([block]))
    with pytest.raises(SaebenchError, match=f"dataset 'hub' {message}"):
        make_token_set(source, n_tokens=4, context_size=2)


@pytest.mark.parametrize("rows", [[[]], [[3], [4]], torch.zeros(4, 1, dtype=torch.long)])
def test_rows_too_short_for_a_context_are_refused(rows):
    with pytest.raises(SaebenchError, match="a context needs at least 2"):
        make_token_set(rows, n_tokens=2)


def test_resolve_separator_names_ids_and_none(tok):
    assert [resolve_separator(s, tok) for s in ("bos", "eos", 23, None)] == [0, 1, 23, None]
    with pytest.raises(SaebenchError, match="the model has no tokenizer"):
        resolve_separator("eos", None)
    assert resolve_separator(5, None) == 5  # an id needs no tokenizer
    with pytest.raises(SaebenchError, match="must be non-negative, got -1"):
        resolve_separator(-1, tok)
