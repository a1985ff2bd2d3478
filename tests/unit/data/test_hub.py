"""Hugging Face datasets by name (with load_dataset faked, and really offline) and as
Dataset/IterableDataset objects."""

import datasets
import pytest

from saebench.data import data_source, hub_spec, make_token_set, open_source
from saebench.errors import SaebenchError

ROWS = {"text": ["the cat sat", "a dog ran", "it was red"], "meta": [1, 2, 3]}


@pytest.fixture
def fake_hub(monkeypatch):
    calls = []

    def load_dataset(name, config=None, *, split, revision, streaming):
        calls.append((name, config, split, revision, streaming))
        if name == "org/tokens":
            return datasets.Dataset.from_dict({"input_ids": [[1, 2, 3]] * 4}).to_iterable_dataset()
        return datasets.Dataset.from_dict(ROWS).to_iterable_dataset()

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_a_hub_name_is_streamed_and_its_spec_reopens_it(fake_hub):
    source = data_source("org/corpus")
    assert (source.name, source.kind) == ("org/corpus", "text")
    assert source.spec == hub_spec("org/corpus", split="train", column="text")
    assert fake_hub == [("org/corpus", None, "train", None, True)]
    assert list(source.documents()) == ROWS["text"]
    assert open_source(source.spec) == source


def test_the_hub_fingerprint_covers_config_split_column_and_revision(fake_hub):
    base = data_source("org/corpus").fingerprint
    variants = [
        hub_spec("org/corpus", config="en"),
        hub_spec("org/corpus", split="validation"),
        hub_spec("org/corpus", revision="abc123"),
        hub_spec("org/corpus", column="meta"),
    ]
    fingerprints = [data_source(spec).fingerprint for spec in variants]
    assert len({base, *fingerprints}) == 5
    assert fake_hub[1] == ("org/corpus", "en", "train", None, True)
    assert fake_hub[3] == ("org/corpus", None, "train", "abc123", True)


def test_a_hub_token_column_is_token_data(fake_hub):
    source = data_source("org/tokens")
    assert (source.kind, source.spec["column"], source.row_length) == ("tokens", "input_ids", 3)
    assert make_token_set(source, n_tokens=6).tokens.tolist() == [[1, 2, 3], [1, 2, 3]]


def test_a_text_column_holding_numbers_names_the_row(fake_hub):
    source = data_source(hub_spec("org/corpus", column="meta"))
    with pytest.raises(SaebenchError, match=r"'org/corpus' row 0: 'meta' is a number \(1\)"):
        list(source.documents())


def test_a_missing_column_is_refused_when_resolved(fake_hub):
    with pytest.raises(
        SaebenchError, match=r"'org/corpus' has no column 'body'; it has \['text', 'meta'\]"
    ):
        data_source(hub_spec("org/corpus", column="body"))


def test_offline_the_hub_fails_in_one_line():
    # tests/conftest.py sets HF_HUB_OFFLINE=1, so this never touches the network.
    with pytest.raises(SaebenchError) as caught:
        data_source("saebench-test/no-such-dataset")
    message = str(caught.value)
    assert message.startswith("cannot read Hugging Face dataset 'saebench-test/no-such-dataset' (")
    assert message.endswith(
        "check the name, split and network, or pass a local file (.txt, .jsonl, .pt, .npy, .safetensors) or `zoo`"
    )
    assert "\n" not in message


def test_dataset_objects_text_and_tokens():
    text = data_source(datasets.Dataset.from_dict(ROWS))
    assert (text.name, text.kind, text.spec["type"]) == ("inline", "text", "memory")
    assert list(text.documents()) == ROWS["text"]
    tokens = data_source(
        datasets.Dataset.from_dict({"tokens": [[5, 6], [7, 8]], "text": ["x", "y"]})
    )
    assert tokens.kind == "tokens"  # a token column wins over text, as in SAELens
    assert tokens.row_length == 2
    assert make_token_set(tokens, n_tokens=4).tokens.tolist() == [[5, 6], [7, 8]]
    assert open_source(tokens.spec) is tokens
    other = data_source(datasets.Dataset.from_dict({"tokens": [[5, 6], [7, 9]]}))
    assert other.fingerprint != tokens.fingerprint


def test_iterable_dataset_objects_are_fingerprinted_by_their_first_rows():
    first = data_source(datasets.Dataset.from_dict(ROWS).to_iterable_dataset())
    same = data_source(datasets.Dataset.from_dict(ROWS).to_iterable_dataset())
    changed = data_source(
        datasets.Dataset.from_dict({"text": ["another", "set"]}).to_iterable_dataset()
    )
    assert first.fingerprint == same.fingerprint != changed.fingerprint
    assert list(first.documents()) == ROWS["text"]
