"""The shipped zoo model: loads offline, its tokenizer round-trips, its held-out data is really
held out, and its published figures hold when measured again from the shipped weights."""

from __future__ import annotations

import json
import random
import time

import pytest
import torch

from saebench.tasks import zoo_facts, zoo_ioi
from saebench.tasks.zoo_data import SPLITS
from saebench.zoo import corpus
from saebench.zoo.evaluate_model import GATES, evaluate, mean_loss
from saebench.zoo.model import load_model, model_dir

SENTENCES = [
    "When Mary and John went to the store, John gave a drink to Mary.",
    "As everyone knows, Kyoto is a city in the country of Japan.",
    "It was sunny in Kyoto on Monday.",
    "The town of Kyoto is located on the continent of Asia.",
]


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return load_model()


@pytest.fixture(scope="module")
def shipped() -> dict:
    return json.loads((model_dir() / "metrics.json").read_text())


def test_loads_offline_and_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    load_model()  # warm imports, then time the load itself
    # CPU time, not wall time: other processes on a loaded machine must not fail the test
    start = time.process_time()
    loaded = load_model()
    assert time.process_time() - start < 5.0
    assert loaded.cfg.model_name == "saebench-zoo"
    assert loaded.cfg.n_layers == 4 and loaded.cfg.d_model == 128
    assert 0.8e6 < sum(p.numel() for p in loaded.parameters()) < 2e6


def test_tokenizer_round_trips(model):
    tok = model.tokenizer
    for text in SENTENCES:
        tokens = model.to_tokens(text, prepend_bos=True)[0]
        assert tokens[0].item() == tok.bos_token_id
        assert tok.unk_token_id not in tokens.tolist()
        assert model.to_string(tokens[1:]) == text
    assert model.to_tokens("Mary", prepend_bos=False).shape == (1, 1)
    assert model.to_string(model.to_tokens("Kyoto", prepend_bos=True)[0]) == "<bos> Kyoto"


def test_every_attribute_and_name_is_one_token(model):
    for relation in zoo_facts.RELATIONS:
        for value in zoo_facts.attribute_values(relation):
            assert model.to_str_tokens(value, prepend_bos=False) == [value]
    for word in [c.name for c in zoo_facts.load_cities()] + zoo_ioi.ioi_names():
        assert isinstance(model.to_single_token(word), int)


def test_heldout_data_never_appears_in_training_text():
    sentences = set(corpus.build_corpus(seed=0))
    heldout = zoo_facts.fact_prompts("test", per_kind=None)
    assert not any(f"{p.text} {p.answer}." in sentences for p in heldout[::7])
    seen = zoo_facts.fact_prompts("test", kinds=("seen",), per_kind=None)
    assert sum(f"{p.text} {p.answer}." in sentences for p in seen) > 0.9 * len(seen)
    for split in ("val", "test"):
        for p in zoo_ioi.ioi_prompts(split, 200, heldout="pairs"):
            assert zoo_ioi.ioi_pair_split(p.io, p.s) == split
        for p in zoo_ioi.ioi_prompts(split, 200, heldout="templates"):
            assert zoo_ioi.ioi_template_split(p.opening, p.verb) == split
            assert p.full_text not in sentences
    for p in zoo_ioi.ioi_prompts("train", 200):
        assert zoo_ioi.ioi_pair_split(p.io, p.s) == "train"


def test_splits_are_large_enough_and_disjoint():
    cities = {s: {c.name for c in zoo_facts.load_cities(s)} for s in SPLITS}
    assert len(cities["test"]) >= 300
    assert not (cities["train"] & cities["test"]) and not (cities["val"] & cities["test"])
    for city in zoo_facts.load_cities("test"):
        for relation in zoo_facts.RELATIONS:
            assert not set(city.seen[relation]) & set(zoo_facts.heldout_pairs(relation))


def test_shipped_metrics_hold_on_a_reduced_sample(model, shipped):
    assert shipped["gates_passed"]
    again = evaluate(model, "test", fact_per_kind=1, n_ioi=300, n_loss_sentences=0)
    assert again["n_cities"] >= 300
    for key, floor in GATES.items():
        assert again[key] >= floor, key
        assert abs(again[key] - shipped["metrics"][key]) < 0.05, key
    texts = corpus.heldout_sentences("test", n_ioi=200, n_prose=200)
    texts["facts"] = random.Random(0).sample(texts["facts"], 600)
    for kind, lines in texts.items():
        key = f"heldout_{kind}_loss"
        assert abs(mean_loss(model, lines) - shipped["metrics"][key]) < 0.1, key


def test_shipped_files_are_small():
    zoo = model_dir().parent
    total = sum(p.stat().st_size for d in ("model", "data") for p in (zoo / d).iterdir())
    assert total < 8 * 1024 * 1024
