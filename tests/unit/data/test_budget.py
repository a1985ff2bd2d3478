"""The token budget against what a dataset can give (issue 18, items 8 and 13b): a budget the
data cannot fill is refused before anything is allocated, an absurd one before the model
loads; the default budget is capped at what the data gives, with a warning."""

import warnings

import pytest
import torch

from saebench.data import data_source, make_token_set
from saebench.data.budget import DEFAULT_TOKENS, check_budget, fit_budget
from saebench.errors import SaebenchError, SaebenchWarning

HUGE = 10**12  # 8 TB of int64 ids if allocated up front


def test_a_huge_budget_on_text_is_refused_without_allocating(tok):
    with pytest.raises(SaebenchError, match=r"gives only \d+ tokens"):
        make_token_set(["the cat sat"] * 50, tokenizer=tok, context_size=8, n_tokens=HUGE)


def test_a_huge_budget_on_token_ids_is_refused_without_allocating():
    with pytest.raises(SaebenchError, match="gives only 60 tokens"):
        make_token_set(torch.arange(60).view(6, 10), n_tokens=HUGE)


def test_the_bound_known_before_any_tokenizer_refuses_an_absurd_budget(tmp_path):
    text = tmp_path / "small.txt"
    text.write_text("the cat sat on the mat\n" * 100)
    with pytest.raises(SaebenchError, match=r"small.txt.* at most about [\d,]+ tokens"):
        check_budget(data_source(text), HUGE, None, "--tokens")
    check_budget(data_source(text), 2_000, None, "--tokens")  # within reach: counted later


def test_token_files_are_bounded_exactly_from_their_shape(tmp_path):
    path = tmp_path / "ids.pt"
    torch.save(torch.zeros(6, 10, dtype=torch.long), path)
    check_budget(data_source(path), 60, None, "--tokens")
    with pytest.raises(SaebenchError, match="holds 60 tokens"):
        check_budget(data_source(path), 61, None, "--tokens")
    with pytest.raises(SaebenchError, match="holds 24 tokens"):
        check_budget(data_source(path), 25, 4, "--tokens")


def _fit(source, tok, n_tokens, explicit):
    return fit_budget(
        data_source(source),
        tokenizer=tok,
        context_size=8,
        prepend_bos=True,
        separator=1,
        n_tokens=n_tokens,
        explicit=explicit,
        flag="--tokens",
    )


def test_the_default_budget_is_capped_at_what_the_data_gives_with_a_warning(tok):
    docs = ["the cat"] * 3  # BOS the cat EOS the cat EOS | BOS the cat: one full row
    with pytest.warns(SaebenchWarning, match=r"gives 8 tokens .* default .* --tokens"):
        assert _fit(docs, tok, DEFAULT_TOKENS, explicit=False) == 8


def test_an_explicit_budget_the_data_cannot_fill_is_refused(tok):
    with pytest.raises(SaebenchError, match=r"gives only 8 tokens .* --tokens"):
        _fit(["the cat"] * 3, tok, 9, explicit=True)


def test_a_budget_the_data_fills_is_kept_whole_and_silent(tok):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _fit(["the cat sat on the mat"] * 40, tok, 60, explicit=False) == 64
        assert _fit(["the cat sat on the mat"] * 40, tok, 60, explicit=True) == 64


def test_data_without_one_full_context_is_refused_even_at_the_default(tok):
    with pytest.raises(SaebenchError, match="not one full 8-token context"):
        _fit(["the"], tok, DEFAULT_TOKENS, explicit=False)
