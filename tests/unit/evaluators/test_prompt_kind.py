"""Prompt evaluators prepare once per (source, site, task, config), keyed by the framework."""

import pytest
from helpers import make_sae

import saebench
from saebench.evaluators import EvalMetrics, EvalResult, metric, register_evaluator
from saebench.evaluators.base import PromptEvaluator
from saebench.registry import evaluators

PREPARED = []


@pytest.fixture
def probe_like():
    class WidthMetrics(EvalMetrics):
        width: float = metric("d_sae", None)

    @register_evaluator("prompt_test")
    class PromptTest(PromptEvaluator):
        Metrics = WidthMetrics
        main_metric = "width"

        def prepare(self, context):
            PREPARED.append(context.sae.meta.hook_name)
            return {"hook": context.sae.meta.hook_name}

        def evaluate(self, sae, prepared, context):
            assert prepared["hook"] == sae.meta.hook_name
            return EvalResult(metrics=WidthMetrics(width=sae.d_sae))

    PREPARED.clear()
    yield PromptTest
    evaluators._entries.pop("prompt_test", None)


def _run(model, saes):
    return saebench.evaluate(saes, model=model, evaluators=["prompt_test"], device="cpu",
                             progress=False)  # fmt: skip


def test_saes_at_one_site_share_one_preparation(tiny_model, probe_like):
    saes = [
        make_sae(seed=1),
        make_sae(seed=2),
        make_sae(seed=3, hook_name="blocks.1.hook_resid_post"),
    ]
    records = _run(tiny_model, saes)
    assert sorted(PREPARED) == ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    assert [r.metrics["width"] for r in records] == [64.0, 64.0, 64.0]
    timed = [r for r in records if "once_prepare_cpu_seconds" in r.timing]
    assert len(timed) == 2  # the job that prepared says what it cost


def test_once_keys_by_name_site_and_what_it_depends_on():
    from saebench.evaluators.base import EvalContext

    calls = []
    context = EvalContext(sae=None, identity={"evaluator": ["x", "1", {}]})
    for site, depends in [("a", 1), ("a", 1), ("b", 1), ("a", 2)]:
        context.once("work", lambda s=site, d=depends: calls.append((s, d)), site=site,
                     depends_on=depends)  # fmt: skip
    assert calls == [("a", 1), ("b", 1), ("a", 2)]
    other = EvalContext(sae=None, shared=context.shared, identity={"evaluator": ["y", "1", {}]})
    other.once("work", lambda: calls.append("other"), site="a", depends_on=1)
    assert calls[-1] == "other"  # another evaluator identity: its own work


def test_saes_of_two_heads_of_one_hook_prepare_apart():
    """The activations an SAE of one head reads are that head's: a preparation made for
    head 0 is not head 1's (the key held the hook alone)."""
    from types import SimpleNamespace

    from saebench.evaluators import EvalConfig
    from saebench.evaluators.base import EvalContext

    class Heads(PromptEvaluator):
        def prepare(self, context):
            return context.sae.meta.hook_head_index

        def evaluate(self, sae, prepared, context):
            return prepared

    shared: dict = {}
    seen = []
    for head in (0, 1, 0, None):
        meta = SimpleNamespace(hook_name="blocks.0.attn.hook_z", hook_head_index=head)
        context = EvalContext(sae=SimpleNamespace(meta=meta), shared=shared)
        seen.append(Heads(EvalConfig(), context).finish())
    assert seen == [0, 1, 0, None]
