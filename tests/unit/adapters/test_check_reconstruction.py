"""``adapters check`` with a model measures reconstruction on real activations and warns
when it is implausible: a wrong site, a forgotten ``apply_b_dec_to_input``, dead codes."""

from __future__ import annotations

import pytest

from saebench import load_sae
from saebench.adapters.check import check_sae

NAME = "reconstruction on real activations"


@pytest.fixture(scope="module")
def zoo():
    from saebench.models.load import load_model

    return load_model("zoo", device="cpu")


def _recon(report):
    (check,) = [c for c in report.checks if c.name == NAME]
    return check


def test_a_good_sae_passes_with_its_numbers(zoo):
    report = check_sae("zoo:resid-relu", model=zoo)
    check = _recon(report)
    assert check.ok and not check.warn and report.ok
    assert "explained variance 0.8" in check.detail or "explained variance 0.9" in check.detail
    assert "L0 " in check.detail
    assert "WARN" not in "\n".join(report.lines())


def test_a_forgotten_apply_b_dec_to_input_is_flagged(zoo):
    sae = load_sae("zoo:resid-relu")
    sae.meta = sae.meta.model_copy(update={"apply_b_dec_to_input": False})
    report = check_sae(sae, model=zoo)
    check = _recon(report)
    assert (
        check.warn
        and "explained variance" in check.detail
        and "apply_b_dec_to_input" in (check.detail)
    )
    assert "WARN  " + NAME in "\n".join(report.lines())
    assert report.warnings == [check]


def test_a_wrong_site_is_flagged(zoo):
    sae = load_sae("zoo:resid-relu")  # trained on blocks.1.hook_resid_post
    sae.meta = sae.meta.model_copy(update={"hook_name": "blocks.3.hook_resid_post"})
    assert _recon(check_sae(sae, model=zoo)).warn


def test_codes_that_never_fire_are_flagged(zoo):
    sae = load_sae("zoo:resid-relu")
    sae.b_enc.data -= 1e4
    check = _recon(check_sae(sae, model=zoo))
    assert check.warn and "L0 0" in check.detail


def test_a_transcoder_is_measured_against_its_output_hook(zoo):
    check = _recon(check_sae("zoo:transcoder-mlp", model=zoo))
    assert check.ok and not check.warn, check.detail
