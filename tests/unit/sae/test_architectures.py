"""Every encoder class against the formula it implements, written out with plain torch."""

from __future__ import annotations

import pytest
import torch

from saebench.errors import SaebenchError
from saebench.sae import ENCODERS, SaeMetadata, build_sae
from saebench.sae.build import ARCHITECTURES

D, S = 6, 12


def _tensors(seed=0, d_out=D):
    gen = torch.Generator().manual_seed(seed)
    return {
        "W_enc": torch.randn(D, S, generator=gen) * 0.5,
        "b_enc": torch.randn(S, generator=gen) * 0.5,
        "W_dec": torch.randn(S, d_out, generator=gen) * 0.5,
        "b_dec": torch.randn(d_out, generator=gen) * 0.5,
    }


def _meta(architecture, **fields):
    return SaeMetadata(architecture=architecture, d_in=D, d_sae=S, hook_name="h", **fields)


def _x(*shape, seed=9):
    return torch.randn(*shape, D, generator=torch.Generator().manual_seed(seed)) * 2


def _close(a, b):
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_every_architecture_has_an_encoder():
    assert set(ARCHITECTURES.values()) <= set(ENCODERS)


@pytest.mark.parametrize("apply_b_dec", [True, False])
def test_standard(apply_b_dec):
    t = _tensors()
    sae = build_sae(_meta("standard", apply_b_dec_to_input=apply_b_dec), t, where="t")
    x = _x(4)
    f = torch.relu((x - t["b_dec"] * apply_b_dec) @ t["W_enc"] + t["b_enc"])
    _close(sae.encode(x), f)
    _close(sae.decode(f), f @ t["W_dec"] + t["b_dec"])
    codes, x_hat = sae(x)
    _close(x_hat, sae.decode(codes))


def test_topk():
    t = _tensors()
    sae = build_sae(_meta("topk", k=3), t, where="t")
    x = _x(2, 5)
    pre = x @ t["W_enc"] + t["b_enc"]
    top = pre.topk(3, dim=-1)
    f = torch.zeros_like(pre).scatter_(-1, top.indices, top.values.relu())
    _close(sae.encode(x), f)
    assert ((sae.encode(x) != 0).sum(-1) <= 3).all()


def test_topk_needs_k():
    with pytest.raises(SaebenchError, match="positive k"):
        build_sae(_meta("topk"), _tensors(), where="file.safetensors")


@pytest.mark.parametrize("scalar", [False, True])
def test_jumprelu(scalar):
    t = _tensors()
    t["threshold"] = torch.tensor(0.3) if scalar else torch.rand(S) * 0.5
    sae = build_sae(_meta("batchtopk" if scalar else "jumprelu"), t, where="t")
    x = _x(5)
    pre = x @ t["W_enc"] + t["b_enc"]
    f = torch.relu(pre) * (pre > t["threshold"])
    _close(sae.encode(x), f)
    assert sae.threshold.shape == (S,)


def test_gated():
    t = _tensors()
    gen = torch.Generator().manual_seed(4)
    t = {
        "W_enc": t["W_enc"],
        "W_dec": t["W_dec"],
        "b_dec": t["b_dec"],
        "b_gate": torch.randn(S, generator=gen),
        "b_mag": torch.randn(S, generator=gen),
        "r_mag": torch.randn(S, generator=gen) * 0.3,
    }
    sae = build_sae(_meta("gated", apply_b_dec_to_input=True), t, where="t")
    x = _x(5)
    centred = x - t["b_dec"]
    gate = (centred @ t["W_enc"] + t["b_gate"]) > 0
    mag = torch.relu(centred @ (t["W_enc"] * t["r_mag"].exp()) + t["b_mag"])
    _close(sae.encode(x), gate * mag)


def test_groupmax():
    t = _tensors()
    sae = build_sae(_meta("groupmax", k=4), t, where="t")
    x = _x(3)
    pre = torch.relu(x @ t["W_enc"] + t["b_enc"])
    expected = torch.zeros_like(pre)
    for g in range(4):  # groups of S/4 contiguous latents, one winner each
        block = pre[:, g * 3 : (g + 1) * 3]
        idx = block.argmax(-1)
        expected[torch.arange(3), g * 3 + idx] = block.max(-1).values
    _close(sae.encode(x), expected)


def test_skip_transcoder():
    t = _tensors(d_out=4)
    t["W_skip"] = torch.randn(4, D, generator=torch.Generator().manual_seed(5))
    meta = _meta("skip_transcoder", d_out=4, hook_name_out="h_out")
    sae = build_sae(meta, t, where="t")
    x = _x(3)
    f = torch.relu(x @ t["W_enc"] + t["b_enc"])
    _close(sae.decode(f, x), f @ t["W_dec"] + t["b_dec"] + x @ t["W_skip"].T)
    assert sae.d_out == 4 and sae.meta.is_transcoder
    with pytest.raises(ValueError, match="needs its input"):
        sae.decode(f)


def test_input_scale():
    t = _tensors()
    sae = build_sae(_meta("standard", apply_b_dec_to_input=True, input_scale=0.5), t, where="t")
    x = _x(4)
    f = torch.relu((x * 0.5 - t["b_dec"]) @ t["W_enc"] + t["b_enc"])
    _close(sae.encode(x), f)
    _close(sae.decode(f, x), (f @ t["W_dec"] + t["b_dec"]) / 0.5)


def test_layer_norm_encode():
    t = _tensors()
    sae = build_sae(_meta("standard", normalize_activations="layer_norm"), t, where="t")
    x = _x(4) + 3
    mu = x.mean(-1, keepdim=True)
    x_norm = (x - mu) / ((x - mu).std(-1, keepdim=True) + 1e-5)
    _close(sae.encode(x), torch.relu(x_norm @ t["W_enc"] + t["b_enc"]))


def test_layer_norm_decode_restores_with_std():
    t = {k: v.double() for k, v in _tensors().items()}
    sae = build_sae(_meta("standard", normalize_activations="layer_norm"), t, where="t")
    x = _x(4).double() + 3
    mu = x.mean(-1, keepdim=True)
    std = (x - mu).std(-1, keepdim=True)
    f = sae.encode(x)
    expected = (f @ t["W_dec"] + t["b_dec"]) * std + mu
    torch.testing.assert_close(sae.decode(f, x), expected, atol=1e-10, rtol=0)


def test_dtype_and_device_applied():
    sae = build_sae(_meta("standard"), _tensors(), where="t", dtype=torch.float64)
    assert sae.dtype == torch.float64 and sae.meta.dtype == "float64"
    assert sae.encode(_x(2)).dtype == torch.float64


def test_shape_error_names_tensor_and_file():
    t = _tensors()
    t["W_dec"] = t["W_dec"].T
    with pytest.raises(SaebenchError, match="weights.safetensors: tensor W_dec has shape"):
        build_sae(_meta("standard"), t, where="weights.safetensors")
