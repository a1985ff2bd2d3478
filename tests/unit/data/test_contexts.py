import pytest

from saebench.data.contexts import make_contexts
from saebench.data.sources import text_source
from saebench.errors import SaebenchError


def test_contexts_start_with_bos_and_separate_documents(tiny_model):
    tok = tiny_model.tokenizer
    docs = ["the cat sat", "a dog ran", "it was red"] * 10
    ts = make_contexts(tok, text_source(docs), context_size=8, n_tokens=40)
    assert ts.tokens.shape == (5, 8)
    assert (ts.tokens[:, 0] == tok.bos_token_id).all()
    body = ts.tokens[:, 1:].flatten().tolist()
    ids = tok("the cat sat", add_special_tokens=False)["input_ids"]
    assert body[:4] == ids + [tok.eos_token_id]
    mask = ts.mask()
    assert not mask[:, 0].any()
    assert (
        mask.flatten()
        == ~(ts.tokens.flatten() == tok.eos_token_id) & ~(ts.tokens.flatten() == tok.bos_token_id)
    ).all()


def test_without_bos_the_context_is_all_text(tiny_model):
    ts = make_contexts(
        tiny_model.tokenizer, text_source(["the cat"] * 50), 8, 16, prepend_bos=False
    )
    assert ts.tokens[0, 0] != tiny_model.tokenizer.bos_token_id


def test_too_little_text_names_the_fix(tiny_model):
    with pytest.raises(SaebenchError, match="lower --tokens"):
        make_contexts(tiny_model.tokenizer, text_source(["the cat"]), 8, 1000)


def test_file_sources(tmp_path):
    txt = tmp_path / "a.txt"
    txt.write_text("first doc\n\nsecond doc\n")
    assert list(text_source(str(txt))) == ["first doc", "second doc"]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"text": "one"}\n{"text": "two"}\n')
    assert list(text_source(str(jsonl))) == ["one", "two"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"body": "one"}\n')
    with pytest.raises(SaebenchError, match="bad.jsonl:1"):
        list(text_source(str(bad)))
    assert text_source(str(txt)).fingerprint != text_source(str(jsonl)).fingerprint
