"""A run on a synthetic tier: the tier's samples take the place of a model and a dataset."""

from __future__ import annotations

import pytest
import torch

import saebench
from saebench.errors import SaebenchError
from saebench.synthetic import load_model
from saebench.toolkit.references import as_sae

TIER = "synth-1k"


@pytest.fixture(scope="module")
def model():
    return load_model(TIER)


def planted(model, d_sae: int = 256, hook: str = "hook_x"):
    """TopK SAE whose decoder rows are the first ``d_sae`` true features."""
    F = model.features[:d_sae]
    tensors = {"W_enc": F.T.contiguous(), "b_enc": torch.zeros(d_sae), "W_dec": F.clone(),
               "b_dec": model.bias.clone()}  # fmt: skip
    meta = {"hook_name": hook, "model_name": TIER, "context_size": 1, "prepend_bos": False}
    fields = {"apply_b_dec_to_input": True, "k": 6}
    return as_sae("topk", tensors, encoder="topk", fields=fields, meta=meta)


def by_evaluator(records):
    return {r.evaluator.name: r for r in records}


def test_a_tier_named_by_the_sae_is_the_source(model):
    records = saebench.evaluate(
        planted(model), evaluators=["reconstruction", "sparsity"], n_tokens=5000, progress=False
    )
    found = by_evaluator(records)
    recon = found["reconstruction"]
    assert recon.dataset.kind == "synthetic" and recon.dataset.n_tokens == 5000
    assert recon.model.name == TIER and recon.model.weights_hash == model.config.key()
    assert recon.evaluator.config["downstream"] is False  # no logits: CE/KL off by default
    assert "ce_loss_score" not in recon.metrics or recon.metrics["ce_loss_score"] is None
    assert 0.0 < recon.metrics["explained_variance"] <= 1.0
    # without logits the variance explained leads, with its interval
    assert recon.evaluator.main_metric == "explained_variance"
    assert recon.main_interval is not None and recon.main_interval.low < recon.main_value
    assert 4.0 < found["sparsity"].metrics["l0"] <= 6.0  # TopK 6, then ReLU


def test_numbers_do_not_depend_on_the_batch_size(model):
    def run(batch_size):
        records = saebench.evaluate(
            planted(model), model=TIER, evaluators=["reconstruction"], n_tokens=5000,
            batch_size=batch_size, progress=False,
        )  # fmt: skip
        return records[0]

    a, b = run(4096), run(777)
    assert a.key == b.key
    assert a.metrics["explained_variance"] == pytest.approx(
        b.metrics["explained_variance"], abs=1e-9
    )
    assert a.metrics["mse"] == pytest.approx(b.metrics["mse"], rel=1e-6)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dataset": "zoo"}, "makes its own samples; drop"),
        ({"evaluators": ["reconstruction"], "configs": {"reconstruction": {"downstream": True}}},
         "needs downstream, which the synthetic source does not serve"),
        ({"evaluators": ["ravel"]}, "which the synthetic source does not serve"),
    ],
)  # fmt: skip
def test_what_a_tier_cannot_serve_is_refused_before_work(model, options, message):
    options = {"evaluators": ["sparsity"], **options}
    with pytest.raises(SaebenchError, match=message):
        saebench.evaluate(planted(model), model=TIER, n_tokens=1000, progress=False, **options)


def test_an_sae_of_another_site_is_refused(model):
    with pytest.raises(SaebenchError, match="has only 'hook_x' at width 128"):
        saebench.evaluate(planted(model, hook="blocks.0.hook_resid_post"), model=TIER,
                          evaluators=["sparsity"], n_tokens=1000, progress=False)  # fmt: skip
