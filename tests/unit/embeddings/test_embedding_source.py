"""The corpus split, the embedding cache and the source, with a fake model (no wheel)."""

import hashlib

import numpy as np
import pytest
import torch

from saebench.models.embedding_cache import cache_file, part_embeddings
from saebench.models.embedding_corpus import make_corpus
from saebench.sources.embedding import SITE, EmbeddingSource


class FakeModel:
    """Unit vectors from a hash of each text; counts the texts it encodes."""

    name = "fake"
    weights_hash = "f" * 64
    d_model = 8

    def __init__(self):
        self.encoded = 0

    def identity(self):
        return {"name": self.name, "weights_hash": self.weights_hash}

    def encode(self, texts, batch_size=64, progress=False):
        self.encoded += len(texts)
        rows = [
            np.frombuffer(hashlib.sha256(t.encode()).digest()[:8], dtype=np.uint8) for t in texts
        ]
        x = torch.tensor(np.array(rows), dtype=torch.float32) - 127.5
        return torch.nn.functional.normalize(x, dim=-1)


def rows(n):
    return [(f"id{i}", f"text number {i}") for i in range(n)]


def test_split_sizes_and_determinism():
    corpus = make_corpus("toy", rows(100))
    sizes = {part: len(r) for part, r in corpus.parts.items()}
    assert sizes == {"train": 70, "corpus": 20, "query": 10}
    again = make_corpus("toy", list(reversed(rows(100))))
    assert again.parts == corpus.parts  # the order rows come in does not matter
    assert make_corpus("toy", rows(100), seed=1).parts != corpus.parts
    ids = [i for part in corpus.parts.values() for i, _ in part]
    assert len(set(ids)) == 100


def test_n_keeps_the_rows_of_lowest_hash():
    small, full = make_corpus("toy", rows(100), n=50), make_corpus("toy", rows(100))
    kept = {i for part in small.parts.values() for i, _ in part}
    order = [i for part in ("train", "corpus", "query") for i, _ in full.parts[part]]
    assert kept == set(order[:50])


def test_duplicate_ids_are_refused():
    from saebench.errors import SaebenchError

    with pytest.raises(SaebenchError, match="unique"):
        make_corpus("toy", [("a", "x"), ("a", "y")])


def test_cache_hit_does_not_encode_again(tmp_path):
    model, corpus = FakeModel(), make_corpus("toy", rows(100))
    first = part_embeddings(model, corpus, "query", tmp_path)
    assert model.encoded == 10 and cache_file(model, corpus, "query", tmp_path).is_file()
    second = part_embeddings(model, corpus, "query", tmp_path)
    assert model.encoded == 10 and torch.equal(first, second)
    other = make_corpus("toy", rows(100), seed=1)  # other texts: another file
    part_embeddings(model, other, "query", tmp_path)
    assert model.encoded == 20


def test_source_streams_corpus_then_queries(tmp_path):
    model, corpus = FakeModel(), make_corpus("toy", rows(100))
    source = EmbeddingSource(model, corpus, cache_dir=tmp_path)
    got = list(source.batches(7))
    tokens = torch.cat([b.tokens for b in got])[:, 0]
    assert tokens.tolist() == [0] * 20 + [1] * 10
    acts, final = source.capture(got[0], [SITE], False)
    assert acts[SITE].shape == (7, 1, 8) and final is None
    expected = model.encode(corpus.texts("corpus")[:7])
    assert torch.allclose(acts[SITE][:, 0], expected)
    with pytest.raises(KeyError):
        source.capture(got[0], ["blocks.0.hook_resid_post"], False)
    assert [b.start for b in got] == list(range(0, 30, 7))
