"""The ``circuits`` panel: skipped at no cost for other SAEs, end to end on the heads- SAEs."""

import pytest

import saebench
from saebench.evaluators.circuits import CircuitsEvaluator
from saebench.zoo.catalog import all_sae_names


def test_sites_group_head_saes_across_layers_and_leave_others_at_their_hook():
    from saebench.sae import SaeMetadata

    head = {"architecture": "relu", "d_in": 32, "d_sae": 64, "hook_head_index": 1}
    a = SaeMetadata(hook_name="blocks.0.attn.hook_z", **head)
    b = SaeMetadata(hook_name="blocks.3.attn.hook_z", **head)
    resid = SaeMetadata(
        architecture="relu", d_in=128, d_sae=64, hook_name="blocks.1.hook_resid_post"
    )
    assert CircuitsEvaluator.panel_site(a) == CircuitsEvaluator.panel_site(b)
    assert CircuitsEvaluator.panel_site(resid) is None  # in no panel of circuits


def test_residual_saes_join_no_panel_and_cost_nothing(monkeypatch):
    from saebench.errors import SaebenchWarning
    from saebench.evaluators.circuits import run

    def no_work(*args, **kwargs):
        raise AssertionError("SAEs in no panel must not run the model")

    monkeypatch.setattr(run, "prepare", no_work)
    with pytest.warns(SaebenchWarning, match="2 SAE.*does not read.*per-head attn.hook_z"):
        records = saebench.evaluate(["zoo:resid-topk-16", "zoo:mlp-relu"], model="zoo",
                                    evaluators=["circuits"], device="cpu", progress=False)  # fmt: skip
    assert records == []


HEADS = [f"zoo:heads-relu-L{layer}H{head}" for layer in range(4) for head in range(4)]


@pytest.mark.skipif(HEADS[0][4:] not in all_sae_names(), reason="heads- SAEs not built")
def test_end_to_end_on_the_shipped_head_saes():
    config = {"n_prompts": 40, "n_random": 20, "n_resamples": 20}
    (record,) = saebench.evaluate(HEADS, model="zoo", evaluators=["circuits"], device="cpu",
                                  progress=False, configs={"circuits": config})  # fmt: skip
    m, d = record.metrics, record.details
    assert record.sae.role == "panel" and len(record.panel) == 16
    assert m["n_heads"] == 16 and 0 < m["n_circuit_heads"] < 16
    assert 0 <= m["node_auc"] <= 1 and 0 <= m["random_node_auc"] <= 1
    assert record.nulls["node_auc"] == m["random_node_auc"]
    assert m["circuit_faithfulness"] > 0.5  # the zoo's circuit explains most of its answer
    assert d["reference_circuit"]["heads"] and len(d["node_scores"]) == 16
    iv = record.intervals["node_auc"]
    assert iv.low <= m["node_auc"] <= iv.high or iv.low is None
