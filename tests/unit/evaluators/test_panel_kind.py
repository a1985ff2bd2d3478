"""Panel evaluators: one record per site over every SAE of the group there."""

import pytest
import torch
from helpers import make_sae

import saebench
from saebench.errors import SaebenchWarning
from saebench.evaluators import EvalMetrics, EvalResult, metric, register_evaluator
from saebench.evaluators.base import PanelEvaluator
from saebench.registry import evaluators

SEEN = []


def _mmcs(saes):
    first, *rest = [s.W_dec / s.W_dec.norm(dim=1, keepdim=True) for s in saes]
    return float(torch.stack([(first @ o.T).max(dim=1).values.mean() for o in rest]).mean())


@pytest.fixture
def overlap():
    class OverlapMetrics(EvalMetrics):
        mmcs: float = metric("mean max cosine of decoder rows, first SAE against the others", True)

    @register_evaluator("overlap_test")
    class Overlap(PanelEvaluator):
        Metrics = OverlapMetrics
        main_metric = "mmcs"

        def evaluate_panel(self, saes, context):
            SEEN.append(len(saes))
            return EvalResult(metrics=OverlapMetrics(mmcs=_mmcs(saes)))

    SEEN.clear()
    yield Overlap
    evaluators._entries.pop("overlap_test", None)


def _run(model, saes, out):
    return saebench.evaluate(saes, model=model, evaluators=["overlap_test"], device="cpu",
                             progress=False, out_dir=out)  # fmt: skip


def test_a_panel_record_names_its_members_and_resumes(tiny_model, tmp_path, overlap):
    saes = [make_sae(seed=s) for s in (1, 2, 3)]
    lone = make_sae(seed=4, hook_name="blocks.1.hook_resid_post")
    with pytest.warns(SaebenchWarning, match="1 SAE.* at blocks.1.hook_resid_post"):
        records = _run(tiny_model, [*saes, lone], tmp_path)
    (panel,) = records
    assert panel.sae.role == "panel" and panel.sae.hook_name == "blocks.0.hook_resid_post"
    assert len(panel.panel) == 3 and panel.expected_key() == panel.key
    assert panel.metrics["mmcs"] == pytest.approx(_mmcs(saes), rel=1e-6)
    again = _run(tiny_model, saes, tmp_path)
    assert SEEN == [3] and again[0].key == panel.key  # resumed, not recomputed
    other = _run(tiny_model, saes[:2], tmp_path)
    assert SEEN == [3, 2] and other[0].key != panel.key  # another set, another record
