"""EleutherAI sparsify folders, built by hand with the library's keys and orientations.

The reference is sparsify's forward written with plain torch ops:
``pre = relu((x - b_dec) @ encoder.weight.T + encoder.bias)``, top-k (or the max of each of
k groups), ``sum(top_acts * W_dec[top_idx]) + b_dec`` (+ ``x @ W_skip.T``).
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from saebench import load_sae
from saebench.adapters.sparsify import hooks_for_hookpoint
from saebench.errors import SaebenchError

D, EXPANSION, K = 8, 3, 4
L = D * EXPANSION


def _write(folder, transcode=False, skip=False, activation="topk", num_latents=0, **extra):
    gen = torch.Generator().manual_seed(3)
    n = num_latents or L
    tensors = {
        "encoder.weight": torch.randn(n, D, generator=gen) * 0.5,
        "encoder.bias": torch.randn(n, generator=gen) * 0.5,
        "W_dec": torch.randn(n, D, generator=gen) * 0.5,  # [num_latents, d_in]: as saved
        "b_dec": torch.randn(D, generator=gen),
    }
    if skip:
        tensors["W_skip"] = torch.randn(D, D, generator=gen) * 0.2
    cfg = {
        "activation": activation,
        "expansion_factor": EXPANSION,
        "normalize_decoder": True,
        "num_latents": num_latents,
        "k": K,
        "multi_topk": False,
        "skip_connection": skip,
        "transcode": transcode,
        "d_in": D,
        **extra,
    }
    folder.mkdir(parents=True)
    save_file(tensors, folder / "sae.safetensors")
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder, tensors


def _reference(t, x, transcode=False, activation="topk"):
    """sparsify's encode + decode, with plain torch ops."""
    sae_in = x if transcode else x - t["b_dec"]
    pre = torch.relu(sae_in @ t["encoder.weight"].T + t["encoder.bias"])
    if activation == "topk":
        acts, idx = pre.topk(K, dim=-1)
    else:
        acts, idx = pre.unflatten(-1, (K, -1)).max(dim=-1)
        idx = idx + torch.arange(0, pre.shape[-1], pre.shape[-1] // K)
    out = (acts.unsqueeze(-1) * t["W_dec"][idx]).sum(-2) + t["b_dec"]
    if "W_skip" in t:
        out = out + x @ t["W_skip"].T
    codes = torch.zeros_like(pre).scatter_(-1, idx, acts)
    return codes, out


def _x(*shape):
    return torch.randn(*shape, D, generator=torch.Generator().manual_seed(11))


def _close(a, b):
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_topk_sae(tmp_path):
    folder, t = _write(tmp_path / "layers.6")
    sae = load_sae(str(folder))
    x = _x(5)
    codes, out = _reference(t, x)
    _close(sae.encode(x), codes)
    _close(sae.decode(sae.encode(x), x), out)
    assert sae.meta.architecture == "topk" and sae.meta.k == K
    assert sae.meta.apply_b_dec_to_input  # sparsify always subtracts b_dec for an SAE
    assert sae.W_dec.shape == (L, D)  # not transposed
    assert sae.meta.hook_name == "blocks.6.hook_resid_post"


def test_num_latents_overrides_expansion(tmp_path):
    folder, t = _write(tmp_path / "layers.1", num_latents=20)
    sae = load_sae(f"sparsify:{folder}")
    assert sae.d_sae == 20
    _close(sae.encode(_x(3)), _reference(t, _x(3))[0])


def test_skip_connection(tmp_path):
    folder, t = _write(tmp_path / "layers.2", skip=True)
    sae = load_sae(str(folder))
    x = _x(2, 3)
    codes, out = _reference(t, x)
    _close(sae(x)[1], out)
    assert sae.W_skip is not None


def test_transcoder(tmp_path):
    folder, t = _write(tmp_path / "layers.4.mlp", transcode=True)
    sae = load_sae(str(folder))
    x = _x(6)
    codes, out = _reference(t, x, transcode=True)
    _close(sae.encode(x), codes)
    _close(sae.decode(codes, x), out)
    meta = sae.meta
    assert not meta.apply_b_dec_to_input and meta.architecture == "topk_transcoder"
    assert (meta.hook_name, meta.output_hook) == (
        "blocks.4.ln2.hook_out",
        "blocks.4.hook_mlp_out",
    )


def test_groupmax(tmp_path):
    folder, t = _write(tmp_path / "layers.0", activation="groupmax")
    sae = load_sae(str(folder))
    x = _x(5)
    codes, out = _reference(t, x, activation="groupmax")
    _close(sae.encode(x), codes)
    _close(sae.decode(sae.encode(x)), out)
    assert sae.meta.architecture == "groupmax" and sae.encoder_kind == "groupmax"
    assert ((sae.encode(x) != 0).sum(-1) <= K).all()


def test_groupmax_needs_divisible_width(tmp_path):
    folder, _ = _write(tmp_path / "layers.0", activation="groupmax", num_latents=22)
    with pytest.raises(SaebenchError, match="divisible"):
        load_sae(str(folder))


@pytest.mark.parametrize(
    ("hookpoint", "transcode", "expected"),
    [
        ("layers.3", False, ("blocks.3.hook_resid_post", None)),
        ("model.layers.3", False, ("blocks.3.hook_resid_post", None)),
        ("gpt_neox.layers.5.mlp", False, ("blocks.5.hook_mlp_out", None)),
        ("transformer.h.2", False, ("blocks.2.hook_resid_post", None)),
        ("layers.1.self_attn", False, ("blocks.1.hook_attn_out", None)),
        ("embed_tokens", False, ("hook_embed", None)),
        ("layers.3", True, ("blocks.3.hook_resid_pre", "blocks.3.hook_resid_post")),
        ("layers.7.mlp.act_fn", False, None),
        ("lm_head", False, None),
    ],
)
def test_hookpoint_mapping(hookpoint, transcode, expected):
    assert hooks_for_hookpoint(hookpoint, transcode) == expected


def test_unknown_hookpoint_asks_for_sidecar(tmp_path):
    folder, _ = _write(tmp_path / "my_sae")
    with pytest.raises(SaebenchError, match="saebench.json"):
        load_sae(str(folder))
    (folder / "saebench.json").write_text(
        json.dumps({"hook_name": "blocks.2.hook_resid_post", "model_name": "pythia-70m"})
    )
    meta = load_sae(str(folder)).meta
    assert (meta.hook_name, meta.model_name) == ("blocks.2.hook_resid_post", "pythia-70m")


def test_model_name_from_run_config(tmp_path):
    folder, _ = _write(tmp_path / "run" / "layers.0")
    (tmp_path / "run" / "config.json").write_text(json.dumps({"model": "EleutherAI/pythia-70m"}))
    assert load_sae(str(folder)).meta.model_name == "EleutherAI/pythia-70m"


def test_skip_flag_without_tensor(tmp_path):
    folder, _ = _write(tmp_path / "layers.0")
    cfg = json.loads((folder / "cfg.json").read_text())
    (folder / "cfg.json").write_text(json.dumps({**cfg, "skip_connection": True}))
    with pytest.raises(SaebenchError, match="skip_connection"):
        load_sae(str(folder))


@pytest.mark.parametrize("option", ["embed_skip", "gram_lookup", "signed"])
def test_unsupported_options_refused(tmp_path, option):
    folder, _ = _write(tmp_path / "layers.0", **{option: True})
    with pytest.raises(SaebenchError, match=option):
        load_sae(str(folder))


def test_not_confused_with_saelens(tmp_path):
    """SAELens folders have sae_weights.safetensors; sparsify has sae.safetensors."""
    from saebench.adapters.resolve import read_uri

    folder, _ = _write(tmp_path / "layers.0")
    assert read_uri(str(folder))[0] == "sparsify"


def test_encoder_shape_must_match_config(tmp_path):
    folder, _ = _write(tmp_path / "layers.0")
    cfg = json.loads((folder / "cfg.json").read_text())
    (folder / "cfg.json").write_text(json.dumps({**cfg, "d_in": 10}))
    with pytest.raises(SaebenchError, match="encoder.weight has shape"):
        load_sae(str(folder))
