"""The ``sae-probes`` task, read from the installed wheel's zstd CSV files (no model)."""

from __future__ import annotations

import importlib.metadata

import pytest

from saebench.errors import SaebenchError

pytest.importorskip("zstandard")
try:
    importlib.metadata.distribution("sae-probes")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("needs the sae-probes wheel", allow_module_level=True)

from saebench.data import sae_probes_files as files  # noqa: E402
from saebench.tasks.base import build_task  # noqa: E402

SMALL = {"datasets": ["glue_cola", "5_hist_fig_ismale"], "max_per_class": 60}


@pytest.fixture(scope="module")
def task():
    return build_task("sae-probes", SMALL)


def test_each_dataset_is_one_attribute_on_its_own_prompts(task):
    assert sorted(task.attribute_values()) == ["glue_cola", "hist_fig_ismale"]
    for prompt in task.prompts():
        assert list(prompt.attributes) == [prompt.asks]
        assert prompt.answer in task.attribute_values()[prompt.asks]
        assert prompt.spans == {"text": (0, len(prompt.text))}
        assert prompt.text == prompt.text.strip()


def test_splits_are_disjoint_and_capped_per_label(task):
    train = {p.text for p in task.prompts("train")}
    test = {p.text for p in task.prompts("test")}
    assert train and test and not train & test
    for key in task.attribute_values():
        for label in task.attribute_values()[key]:
            rows = [p for p in task.prompts() if p.asks == key and p.answer == label]
            assert len([p for p in rows if p.split != "ood"]) == 60
    share = len(test) / (len(train) + len(test))
    assert 0.15 < share < 0.45  # test_share 0.3 by text hash


def test_same_config_same_prompts_other_seed_other_sample(task):
    again = build_task("sae-probes", SMALL)
    assert again.fingerprint() == task.fingerprint()
    other = build_task("sae-probes", {**SMALL, "seed": 1})
    assert other.fingerprint() != task.fingerprint()


def test_ood_split_holds_the_ood_files_with_known_labels(task):
    ood = task.prompts("ood")
    assert {p.asks for p in ood} == {"glue_cola", "hist_fig_ismale"}
    values = task.attribute_values()
    assert all(p.answer in values[p.asks] for p in ood)


def test_unknown_dataset_is_one_line_with_close_names():
    with pytest.raises(SaebenchError) as caught:
        build_task("sae-probes", {"datasets": ["glue_colla"]})
    assert "glue_cola" in str(caught.value) and "\n" not in str(caught.value)


def test_keys_are_unique_snake_case():
    keys = [files.dataset_key(n) for n in files.dataset_names(ood=None)]
    assert len(keys) == len(set(keys)) > 150
    assert files.dataset_key("145_disease_class_digestive system diseases") == (
        "disease_class_digestive_system_diseases"
    )
    assert "66_living-room_translations" not in files.dataset_files()  # not a dataset


def test_missing_wheel_names_the_install_command(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    files.dataset_files.cache_clear()
    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    try:
        with pytest.raises(SaebenchError, match="pip install --no-deps sae-probes"):
            files.dataset_files()
    finally:
        files.dataset_files.cache_clear()


def test_sparse_probing_finds_span_and_attributes(task):
    from saebench.evaluators.sparse_probing import SparseProbingConfig, resolve_targets

    config = SparseProbingConfig(task="sae-probes", task_config=SMALL)
    position, attributes, entity = resolve_targets(config, task)
    assert position == "text" and entity is None
    assert attributes == ["glue_cola", "hist_fig_ismale"]


@pytest.mark.slow  # about 10 s of CPU (the zoo model, sklearn)
def test_sparse_probing_runs_on_the_task_with_a_raw_reference():
    """End to end on the zoo model (its word tokenizer reads English as <unk>-heavy ids: the
    numbers mean nothing here, the plumbing is what is checked)."""
    from saebench.run.executors import evaluate

    config = {"task": "sae-probes", "task_config": SMALL, "k": [1], "full_width": False}
    records = evaluate(
        "zoo:resid-topk-16",
        model="zoo",
        evaluators=["sparse_probing"],
        configs={"sparse_probing": config},
        progress=False,
    )
    mine, raw = records
    assert raw.sae.role == "reference" and "raw_activations" in raw.sae.uri
    for record in records:
        assert record.metrics["n_values_probed"] == 2  # one probe per binary dataset
        assert 0.0 <= record.metrics["sae_accuracy_k1_glue_cola"] <= 1.0
    assert mine.sample_sizes["test_rows"] > 0
