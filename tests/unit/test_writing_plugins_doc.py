"""docs/writing-plugins.md runs as written: its Python blocks are executed in order in one
namespace (toml and text blocks are illustrations, not run); the page's last block registers
its streaming, prompt and panel evaluators and its adapter, and runs them on the zoo."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-plugins.md"
SITE = "blocks.1.hook_resid_post"
SAES = ["zoo:resid-topk-8", "zoo:resid-topk-16", "zoo:resid-topk-32"]
EVALUATORS = ("top_share", "continent_probe", "decoder_overlap", "not_an_evaluator")


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_page_has_the_blocks_it_promises():
    blocks = python_blocks()
    assert len(blocks) == 8
    for kind in ("(Evaluator)", "(PromptEvaluator)", "(PanelEvaluator)", "(ActivationSource)"):
        assert sum(kind in block for block in blocks) == 1, kind
    assert "saebench.models.runner" not in DOC.read_text()  # a module that does not exist
    assert "to come" not in DOC.read_text()
    assert "](controls.md)" in DOC.read_text()


def test_the_prompt_example_imports_from_two_public_modules():
    (block,) = [b for b in python_blocks() if "(PromptEvaluator)" in b]
    modules = set(re.findall(r"^from (saebench[\w.]*) import", block, flags=re.MULTILINE))
    assert modules == {"saebench.evaluators", "saebench.toolkit"}
    assert "import saebench" not in block.replace("import saebench.", "")


@pytest.fixture(scope="module")
def page():
    """The namespace the page's blocks leave behind (run once: it evaluates the zoo)."""
    from saebench.registry import adapters, evaluators

    namespace: dict = {"__name__": "writing_plugins_doc"}
    try:
        for block in python_blocks():
            exec(compile(block, str(DOC), "exec"), namespace)
        yield namespace
    finally:
        for name in EVALUATORS:
            evaluators._entries.pop(name, None)
        adapters._entries.pop("myformat", None)


def _records(page, evaluator: str, role: str = "sae") -> list:
    return [r for r in page["records"] if r.evaluator.name == evaluator and r.sae.role == role]


def _brackets(record) -> bool:
    interval = record.main_interval
    return interval.low <= record.main_value <= interval.high


def test_the_streaming_example_gives_the_value_its_interval_and_its_null(page):
    records = _records(page, "top_share")
    assert [r.sae.uri for r in records] == SAES
    for record, k in zip(records, (8, 16, 32), strict=True):
        assert _brackets(record) and record.main_interval.method == "block_bootstrap"
        assert record.nulls["top_share"] == pytest.approx(1 / k)  # a TopK SAE: L0 == k
        assert record.main_interval.low > record.nulls["top_share"]
        assert record.sample_sizes["contexts"] == record.main_interval.n >= 2
        assert 0 < record.sample_sizes["tokens"] <= 4096


def test_the_source_example_streams_the_evaluator_without_a_model(page):
    import torch

    sae, source, result = page["sae"], page["source"], page["on_noise"]
    with torch.no_grad():
        codes = sae.encode(source.acts.reshape(-1, sae.meta.d_in)).abs().double()
    share = codes.max(-1).values / codes.sum(-1)
    assert result.metrics.top_share == pytest.approx(float(share.mean()), rel=1e-9)
    assert result.sample_sizes == {"contexts": 8, "tokens": 8 * 16}
    assert source.forwards == 2  # 8 contexts in batches of 4


def test_the_prompt_example_beats_chance_and_prepares_once(page):
    records = _records(page, "continent_probe")
    assert [r.sae.uri for r in records] == SAES
    for record in records:
        assert _brackets(record) and record.main_interval.method == "wilson"
        assert record.main_interval.n == record.sample_sizes["test_rows"] > 100
        # a trained SAE's latent tells the continent where the model predicts it
        assert record.main_interval.low > record.nulls["accuracy"] > 0.5
        assert record.task.name == "zoo-cities"
    prepared = [r for r in records if "once_prepare_cpu_seconds" in r.timing]
    assert len(prepared) == 1  # one site: one preparation for the three SAEs


def test_the_reference_is_one_record_beside_every_sae(page):
    (reference,) = _records(page, "continent_probe", role="reference")
    assert reference.sae.uri == f"reference:continent_probe/neurons@{SITE}"
    assert _brackets(reference) and reference.sample_sizes["test_rows"] > 100


def test_the_panel_example_names_its_members(page):
    (panel,) = _records(page, "decoder_overlap", role="panel")
    assert panel.sae.uri == f"panel:decoder_overlap@{SITE}"
    assert sorted(name.split("#")[0] for name in panel.panel) == sorted(SAES)
    assert _brackets(panel) and panel.sample_sizes == {"latents": 3 * 512, "saes": 3}
    assert panel.main_value > panel.main_interval.low > panel.nulls["mmcs"]
    assert panel.expected_key() == panel.key
    assert len(page["records"]) == 3 + 3 + 1 + 1


def test_a_plain_class_is_refused_and_the_adapter_loads(page):
    from saebench.registry import evaluators

    assert "not_an_evaluator" not in evaluators
    mine, found = page["mine"], page["found"]
    assert mine.meta.architecture == "relu" and tuple(mine.W_enc.shape) == (128, 256)
    assert np.array_equal(found.W_dec.numpy(), mine.W_dec.numpy())  # detected by file name
    assert page["partial"].status == "partial"
