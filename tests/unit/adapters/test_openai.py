"""OpenAI sparse_autoencoder state dicts, written by hand with the library's keys.

Reference forward (``sparse_autoencoder/model.py``): for TopK, ``LN(x)`` first
(``mu``, ``std`` of the centred input, ``x / (std + 1e-5)``); ``latents = act((x - pre_bias)
@ encoder.weight.T + latent_bias)``; ``recons = latents @ decoder.weight.T + pre_bias``, then
``* std + mu`` for TopK.
"""

from __future__ import annotations

import json

import pytest
import torch

from saebench import load_sae
from saebench.adapters.resolve import read_uri
from saebench.errors import SaebenchError

D, S, K = 8, 32, 4
LAYOUT = "resid_post_mlp_v5_32k/autoencoders/6.pt"


def _state(activation="TopK", k=K, postact="ReLU"):
    gen = torch.Generator().manual_seed(4)
    state = {
        "pre_bias": torch.randn(D, generator=gen) * 0.3,
        "encoder.weight": torch.randn(S, D, generator=gen) * 0.5,
        "latent_bias": torch.randn(S, generator=gen) * 0.3,
        "decoder.weight": torch.randn(D, S, generator=gen) * 0.5,
        "stats_last_nonzero": torch.zeros(S, dtype=torch.long),
        "latents_activation_frequency": torch.ones(S),
        "latents_mean_square": torch.zeros(S),
        "activation": activation,
    }
    if activation == "TopK":
        state["activation_state_dict"] = {"k": k, "postact_fn": postact}
    return state


def _write(tmp_path, state, relpath=LAYOUT):
    file = tmp_path / relpath
    file.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, file)
    return file


def _reference(state, x):
    topk = state["activation"] == "TopK"
    if topk:
        mu = x.mean(-1, keepdim=True)
        centred = x - mu
        std = centred.std(-1, keepdim=True)
        x = centred / (std + 1e-5)
    pre = (x - state["pre_bias"]) @ state["encoder.weight"].T + state["latent_bias"]
    if topk:
        top = pre.topk(K, dim=-1)
        latents = torch.zeros_like(pre).scatter_(-1, top.indices, torch.relu(top.values))
    else:
        latents = torch.relu(pre)
    recons = latents @ state["decoder.weight"].T + state["pre_bias"]
    return latents, (recons * std + mu) if topk else recons


def _x(*shape):
    return torch.randn(*shape, D, generator=torch.Generator().manual_seed(8)) * 3 + 1


def _close(a, b, atol=1e-5):
    torch.testing.assert_close(a, b, atol=atol, rtol=1e-5)


def test_topk_v5(tmp_path):
    state = _state()
    sae = load_sae(str(_write(tmp_path, state)))
    x = _x(5)
    latents, recons = _reference(state, x)
    _close(sae.encode(x), latents)
    _close(sae.decode(latents, x), recons, atol=1e-4)  # exact version: the test below
    meta = sae.meta
    assert meta.architecture == "topk" and meta.k == K
    assert meta.normalize_activations == "layer_norm" and meta.apply_b_dec_to_input
    assert meta.hook_name == "blocks.6.hook_resid_post" and meta.model_name == "gpt2-small"


def test_topk_v5_decode_exact(tmp_path):
    """In float64 any real difference in the formula shows far above rounding."""
    state = {
        k: v.double() if torch.is_tensor(v) and v.is_floating_point() else v
        for k, v in _state().items()
    }
    sae = load_sae(str(_write(tmp_path, state)))
    x = _x(5).double()
    latents, recons = _reference(state, x)
    torch.testing.assert_close(sae.decode(latents, x), recons, atol=1e-10, rtol=0)


def test_relu_v4(tmp_path):
    state = _state(activation="ReLU")
    file = _write(tmp_path, state, "resid_delta_mlp_v4/autoencoders/2.pt")
    sae = load_sae(str(file))
    x = _x(2, 3)
    latents, recons = _reference(state, x)
    _close(sae.encode(x), latents)
    _close(sae.decode(latents), recons)
    assert sae.meta.architecture == "standard" and sae.meta.normalize_activations == "none"
    assert sae.meta.hook_name == "blocks.2.hook_mlp_out"


@pytest.mark.parametrize(
    ("location", "hook"),
    [
        ("mlp_post_act", "blocks.0.mlp.hook_post"),
        ("resid_delta_attn", "blocks.0.hook_attn_out"),
        ("resid_post_attn_v5_128k", "blocks.0.hook_resid_mid"),
        ("resid_post_mlp", "blocks.0.hook_resid_post"),
    ],
)
def test_locations(tmp_path, location, hook):
    file = _write(tmp_path, _state(activation="ReLU"), f"{location}/autoencoders/0.pt")
    assert load_sae(f"openai:{file}").meta.hook_name == hook


def test_folder_with_one_file(tmp_path):
    file = _write(tmp_path, _state())
    assert read_uri(str(file.parent)) == ("openai", str(file.parent))
    assert load_sae(str(file.parent)).meta.hook_name == "blocks.6.hook_resid_post"


def test_elsewhere_needs_sidecar(tmp_path):
    file = _write(tmp_path, _state(), "mine/sae.pt")
    with pytest.raises(SaebenchError, match="saebench.json"):
        load_sae(str(file))
    (file.parent / "saebench.json").write_text(
        json.dumps({"hook_name": "blocks.3.hook_resid_pre", "model_name": "gpt2-small"})
    )
    assert load_sae(str(file)).meta.hook_name == "blocks.3.hook_resid_pre"


def test_signed_topk_refused(tmp_path):
    file = _write(tmp_path, _state(postact="Identity"))
    with pytest.raises(SaebenchError, match="Identity"):
        load_sae(str(file))


def test_unknown_activation(tmp_path):
    file = _write(tmp_path, _state(activation="GELU"))
    with pytest.raises(SaebenchError, match="GELU"):
        load_sae(f"openai:{file}")


def test_missing_key(tmp_path):
    state = _state()
    del state["latent_bias"]
    file = _write(tmp_path, state)
    with pytest.raises(SaebenchError, match="6.pt: missing key.*latent_bias"):
        load_sae(f"openai:{file}")


def test_other_pt_not_detected(tmp_path):
    file = _write(tmp_path, {"weight": torch.zeros(2)}, "other/thing.pt")
    with pytest.raises(SaebenchError, match="unknown checkpoint format"):
        load_sae(str(file))
