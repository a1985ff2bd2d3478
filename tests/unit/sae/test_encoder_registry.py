"""An architecture is declared once, by its encoder class: a new one touches one file only.

The toy architecture below lives in this test module alone; nothing in ``saebench/sae``
names it, yet ``build_sae`` checks its tensors and builds it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pytest
import torch
from torch import Tensor, nn

from saebench.errors import SaebenchError
from saebench.sae import SaeMetadata, build_sae
from saebench.sae.base import SAE_TENSORS, Sae, TensorSpec
from saebench.sae.build import ARCHITECTURES, ENCODERS
from saebench.sae.registry import register_encoder

D, S = 5, 8

# The table as build.py spelt it out before each class declared its own labels.
_BEFORE = {
    "standard": "relu",
    "relu": "relu",
    "topk": "topk",
    "batchtopk": "jumprelu",
    "jumprelu": "jumprelu",
    "gated": "gated",
    "groupmax": "groupmax",
    "groupmax_transcoder": "groupmax",
    "matryoshka": "jumprelu",
    "matryoshka_topk": "topk",
    "transcoder": "relu",
    "skip_transcoder": "relu",
    "jumprelu_transcoder": "jumprelu",
    "topk_transcoder": "topk",
    "neurons": "relu",
    "pca": "relu",
    "random": "topk",
    # added since: the linear references (saebench.toolkit.references)
    "linear": "linear",
    "neurons_linear": "linear",
    "pca_linear": "linear",
}


@pytest.fixture
def registry():
    """Restore the tables after a test registers a toy class."""
    encoders, architectures = dict(ENCODERS), dict(ARCHITECTURES)
    yield
    ENCODERS.clear()
    ENCODERS.update(encoders)
    ARCHITECTURES.clear()
    ARCHITECTURES.update(architectures)


def _toy_class():
    @register_encoder
    class ScaledReluSae(Sae):
        """ReLU codes times a learnt per-latent gain (a tensor no built-in class has)."""

        encoder_kind = "scaled_relu"
        architectures = ("scaled_relu", "scaled_relu_transcoder")
        tensor_specs: ClassVar[dict[str, TensorSpec]] = {
            **SAE_TENSORS,
            "gain": TensorSpec(("d_sae",)),
        }

        def __init__(self, meta, W_enc, b_enc, W_dec, b_dec, gain, W_skip=None):
            super().__init__(meta, W_enc, b_enc, W_dec, b_dec, W_skip)
            self.gain = nn.Parameter(gain)

        def activate(self, pre: Tensor) -> Tensor:
            return pre.relu() * self.gain

    return ScaledReluSae


def _tensors():
    gen = torch.Generator().manual_seed(0)
    return {
        "W_enc": torch.randn(D, S, generator=gen),
        "b_enc": torch.randn(S, generator=gen),
        "W_dec": torch.randn(S, D, generator=gen),
        "b_dec": torch.randn(D, generator=gen),
        "gain": torch.rand(S, generator=gen) + 0.5,
    }


def _meta(architecture="scaled_relu"):
    return SaeMetadata(architecture=architecture, d_in=D, d_sae=S, hook_name="h")


def test_a_toy_architecture_declared_in_one_module_builds(registry):
    cls = _toy_class()
    t = _tensors()
    sae = build_sae(_meta(), t, where="toy.safetensors")
    assert type(sae) is cls and ARCHITECTURES["scaled_relu_transcoder"] == "scaled_relu"
    x = torch.randn(3, D, generator=torch.Generator().manual_seed(1))
    expected = (x @ t["W_enc"] + t["b_enc"]).relu() * t["gain"]
    torch.testing.assert_close(sae.encode(x), expected)


def test_a_toy_architecture_gets_the_checks_of_the_built_in_ones(registry):
    _toy_class()
    t = _tensors()
    del t["gain"]
    with pytest.raises(SaebenchError, match="toy.pt: missing tensor.s. gain for a scaled_relu"):
        build_sae(_meta(), t, where="toy.pt")
    t = _tensors()
    t["gain"] = torch.ones(S + 1)
    with pytest.raises(SaebenchError, match=r"toy.pt: tensor gain has shape \(9,\).*needs \(8,\)"):
        build_sae(_meta(), t, where="toy.pt")
    t = _tensors()
    t["gain"][2] = float("nan")
    with pytest.raises(SaebenchError, match="toy.pt: tensor gain holds 1 NaN"):
        build_sae(_meta(), t, where="toy.pt")


def test_a_label_is_claimed_by_one_class_only(registry):
    class Clash(Sae):
        encoder_kind = "clash"
        architectures = ("batchtopk",)

    with pytest.raises(SaebenchError, match="'batchtopk' is already declared by JumpReluSae"):
        register_encoder(Clash)
    assert ARCHITECTURES["batchtopk"] == "jumprelu" and "clash" not in ENCODERS


def test_built_in_labels_are_unchanged():
    assert ARCHITECTURES == _BEFORE
    assert set(ENCODERS) == {"relu", "topk", "jumprelu", "gated", "groupmax", "linear"}
    for label, kind in ARCHITECTURES.items():  # each label is declared by its class
        assert label == kind or label in ENCODERS[kind].architectures


def test_unknown_architecture_names_the_known_ones():
    with pytest.raises(SaebenchError, match="unknown architecture 'wavelet'; known: .*batchtopk"):
        build_sae(_meta("wavelet"), _tensors(), where="f")


def test_unknown_encoder_override_is_one_clear_error():
    with pytest.raises(SaebenchError, match="f: unknown encoder 'wavelet'; encoders: gated"):
        build_sae(_meta("standard"), _tensors(), where="f", encoder="wavelet")


def test_the_adding_an_architecture_section_of_docs_adapters_md_runs(registry):
    text = (Path(__file__).parents[3] / "docs" / "adapters.md").read_text()
    section = text.split("## Adding an architecture", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/adapters.md", "exec"), namespace)
    assert ARCHITECTURES["abstopk_transcoder"] == "abstopk"
    assert type(namespace["sae"]).__name__ == "AbsTopKSae"
