"""``python:package.module:factory`` URIs.

(A factory returning a live ``sae_lens.SAE`` is tested in test_saelens.py, which imports
sae-lens once for the whole module.)
"""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from saebench import load_sae
from saebench.errors import SaebenchError
from saebench.sae import Sae

FACTORIES = """
import torch
from saebench.sae import SaeMetadata, build_sae

def make():
    meta = SaeMetadata(architecture="standard", d_in=4, d_sae=6,
                       hook_name="blocks.0.hook_resid_post")
    gen = torch.Generator().manual_seed(0)
    tensors = {"W_enc": torch.randn(4, 6, generator=gen), "b_enc": torch.zeros(6),
               "W_dec": torch.randn(6, 4, generator=gen), "b_dec": torch.zeros(4)}
    return build_sae(meta, tensors, where="factory")

def wrong_type():
    return {"W_enc": torch.zeros(2, 2)}

def boom():
    raise RuntimeError("lab server unreachable")

NOT_CALLABLE = 3
"""


@pytest.fixture
def module(tmp_path, monkeypatch):
    name = "saebench_test_factories"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(FACTORIES))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_factory_returns_sae(module):
    sae = load_sae(f"python:{module}:make")
    assert isinstance(sae, Sae) and sae.d_sae == 6
    assert sae.meta.source == f"python:{module}:make"
    codes, x_hat = sae(torch.randn(3, 4))
    assert codes.shape == (3, 6) and x_hat.shape == (3, 4)


def test_dtype_is_applied(module):
    assert load_sae(f"python:{module}:make", dtype=torch.float64).dtype == torch.float64


def test_cwd_is_importable(tmp_path, monkeypatch):
    (tmp_path / "saebench_cwd_factory.py").write_text(
        textwrap.dedent(FACTORIES).replace("def make", "def make_here")
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    try:
        assert load_sae("python:saebench_cwd_factory:make_here").d_in == 4
    finally:
        sys.modules.pop("saebench_cwd_factory", None)


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        ("wrong_type", "returned a builtins.dict.*must return a saebench.sae.Sae"),
        ("boom", "boom\\(\\) raised RuntimeError: lab server unreachable"),
        ("NOT_CALLABLE", "is a int, not a function"),
        ("absent", "has no attribute 'absent'"),
    ],
)
def test_bad_factories(module, attr, message):
    with pytest.raises(SaebenchError, match=message):
        load_sae(f"python:{module}:{attr}")


def test_missing_module_is_named():
    with pytest.raises(SaebenchError, match="cannot import module 'no_such_pkg.saes'"):
        load_sae("python:no_such_pkg.saes:make")


def test_module_that_fails_on_import(tmp_path, monkeypatch):
    (tmp_path / "saebench_broken_mod.py").write_text("raise ValueError('bad import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SaebenchError, match="importing module 'saebench_broken_mod' raised"):
        load_sae("python:saebench_broken_mod:make")


def test_malformed_uri():
    with pytest.raises(SaebenchError, match="package.module:factory"):
        load_sae("python:just_a_module")
