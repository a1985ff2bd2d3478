import pytest


@pytest.fixture(scope="session")
def tok(tmp_path_factory):
    """The word-level tokenizer: <bos>=0, <eos>=1, <pad>=2, <unk>=3, then WORDS from 4."""
    from helpers import make_tokenizer

    return make_tokenizer(tmp_path_factory.mktemp("word_tokenizer"))
