"""``control:KIND[@seed=N]:SAE_URI``: reading, writing, canonical forms, names and errors."""

import pytest
import torch
from helpers import make_sae

from saebench.adapters.control import (
    ControlsSetting,
    check_kinds,
    control_uri,
    parse_control,
)
from saebench.adapters.names import canonical_uri, short_name
from saebench.adapters.resolve import load_sae
from saebench.adapters.saelens import save_saelens
from saebench.errors import SaebenchError
from saebench.identity import sae_weights_hash


@pytest.mark.parametrize("kind", ["permuted_decoder", "matched_l0_random", "random_init"])
@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("base", ["zoo:resid-topk-16", "saelens:/x/y", "/abs/path"])
def test_uris_round_trip(kind, seed, base):
    uri = control_uri(kind, base, seed)
    parsed = parse_control(uri.removeprefix("control:"))
    assert (parsed.kind, parsed.seed, parsed.base) == (kind, seed, base)
    assert str(parsed) == uri


def test_the_canonical_uri_drops_seed_zero_and_resolves_the_sae(tmp_path, monkeypatch):
    save_saelens(make_sae(), tmp_path / "sae")
    monkeypatch.chdir(tmp_path)
    canonical = f"control:random_init:saelens:{tmp_path.resolve() / 'sae'}"
    assert canonical_uri("control:random_init@seed=0:./sae") == canonical
    assert canonical_uri("control:random_init:saelens:sae/../sae") == canonical
    assert canonical_uri("control:random_init@seed=2:zoo:resid-topk-16") == (
        "control:random_init@seed=2:zoo:resid-topk-16"
    )


def test_names_put_a_control_beside_its_sae():
    assert short_name("control:permuted_decoder:zoo:resid-topk-16") == (
        "resid-topk-16~permuted_decoder"
    )
    assert short_name("control:random_init@seed=3:saelens:/a/my-sae") == "my-sae~random_init@3"


@pytest.mark.parametrize(
    ("uri", "fragments"),
    [
        ("control:zoo", ["not a control URI", "control:KIND[@seed=N]:SAE_URI"]),
        (
            "control:permuted:zoo:resid-topk-16",
            ["unknown control 'permuted'", "did you mean permuted_decoder?"],
        ),
        ("control:random_init@seed=x:zoo:resid-topk-16", ["bad control option", "@seed=N"]),
        ("control:random_init@sd=1:zoo:resid-topk-16", ["bad control option 'sd=1'"]),
        (
            "control:random_init:control:permuted_decoder:zoo:resid-topk-16",
            ["a control of a control", "name the SAE itself"],
        ),
        ("control:random_init:zoo:no-such-sae", ["zoo:no-such-sae: no such zoo SAE"]),
    ],
)
def test_a_bad_control_uri_is_one_line_naming_the_fix(uri, fragments):
    with pytest.raises(SaebenchError) as error:
        load_sae(uri)
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_a_control_loads_from_any_sae_uri_with_its_identity(tmp_path):
    sae = make_sae("topk", k=4)
    save_saelens(sae, tmp_path / "sae")
    control = load_sae(f"control:permuted_decoder@seed=1:{tmp_path / 'sae'}")
    assert control.control.of == f"saelens:{(tmp_path / 'sae').resolve()}"
    assert control.meta.source == f"control:permuted_decoder@seed=1:{tmp_path / 'sae'}"
    x = torch.randn(20, sae.d_in)
    assert torch.equal(control.encode(x), sae.encode(x))
    # loading twice gives the same identity, and the base file's bytes are part of it
    again = load_sae(f"control:permuted_decoder@seed=1:{tmp_path / 'sae'}")
    assert sae_weights_hash(again) == sae_weights_hash(control)
    save_saelens(make_sae("topk", k=4, seed=9), tmp_path / "sae")
    changed = load_sae(f"control:permuted_decoder@seed=1:{tmp_path / 'sae'}")
    assert sae_weights_hash(changed) != sae_weights_hash(control)


def test_kinds_are_checked():
    assert check_kinds("permuted_decoder, random_init") == ["permuted_decoder", "random_init"]
    with pytest.raises(SaebenchError, match="unknown control 'matched_l0'; did you mean"):
        check_kinds(["matched_l0"])


def test_the_suite_setting_chooses_saes_by_uri_or_name():
    setting = ControlsSetting.model_validate({"kinds": ["random_init"], "saes": ["resid-topk-1*"]})
    uris = setting.expand(["zoo:resid-relu", "zoo:resid-topk-16"])
    assert uris == ["zoo:resid-relu", "zoo:resid-topk-16", "control:random_init:zoo:resid-topk-16"]
    every = ControlsSetting.model_validate(["permuted_decoder"])
    uris = every.expand(["zoo:a", "control:random_init:zoo:b"])  # a control gets none
    assert uris == ["zoo:a", "control:permuted_decoder:zoo:a", "control:random_init:zoo:b"]
    with pytest.raises(SaebenchError, match="'zoo:nothing' matches no SAE of the suite"):
        ControlsSetting.model_validate({"kinds": ["random_init"], "saes": ["zoo:nothing"]}).expand(
            ["zoo:a"]
        )
