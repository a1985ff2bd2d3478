"""Who a panel compares: the group's SAEs at a site, never the controls planned beside them
(a control is a per-SAE baseline; the panel has its own random-init baseline)."""

from __future__ import annotations

import saebench


def test_controls_are_not_panel_members(tmp_path):
    records = saebench.evaluate(
        ["zoo:resid-topk-16", "zoo:resid-topk-8"], model="zoo", dataset="zoo",
        evaluators=["compare"], configs={"compare": {"n_activation_samples": 0}},
        n_tokens=256, controls=["permuted_decoder"], out_dir=tmp_path, progress=False,
    )  # fmt: skip
    panels = [r for r in records if r.sae.role == "panel"]
    assert len(panels) == 1
    members = panels[0].panel
    assert len(members) == 2 and not any(m.startswith("control:") for m in members)


def test_a_run_that_writes_no_record_returns_none(tmp_path):
    # one SAE: no panel to make, and no folder to read companions from
    records = saebench.evaluate(
        "zoo:resid-topk-16", model="zoo", dataset="zoo", evaluators=["compare"],
        configs={"compare": {"n_activation_samples": 0}}, n_tokens=256,
        out_dir=tmp_path / "new", progress=False,
    )  # fmt: skip
    assert records == []
