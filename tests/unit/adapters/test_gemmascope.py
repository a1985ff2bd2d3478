"""Gemma Scope files built by hand (npz and safetensors, upper- and lowercase keys).

Reference forward, as in Gemma Scope's JumpReLU: ``pre = x @ W_enc + b_enc`` (no ``b_dec``
subtraction), ``f = relu(pre) * (pre > threshold)``, ``x_hat = f @ W_dec + b_dec``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from saebench import load_sae
from saebench.errors import SaebenchError

D, S = 8, 24


def _params(d_out=D, skip=False):
    rng = np.random.default_rng(5)
    params = {
        "W_enc": rng.normal(0, 0.5, (D, S)).astype(np.float32),
        "W_dec": rng.normal(0, 0.5, (S, d_out)).astype(np.float32),
        "b_enc": rng.normal(0, 0.5, S).astype(np.float32),
        "b_dec": rng.normal(0, 0.5, d_out).astype(np.float32),
        "threshold": np.abs(rng.normal(0, 0.5, S)).astype(np.float32),
    }
    if skip:
        params["affine_skip_connection"] = rng.normal(0, 0.2, (D, d_out)).astype(np.float32)
    return params


def _write_npz(folder, params, lowercase=False):
    folder.mkdir(parents=True)
    if lowercase:
        params = {k.lower(): v for k, v in params.items()}
    np.savez(folder / "params.npz", **params)
    return folder / "params.npz"


def _write_safetensors(folder, params):
    folder.mkdir(parents=True)
    save_file(
        {k.lower(): torch.from_numpy(v) for k, v in params.items()}, folder / "params.safetensors"
    )
    return folder / "params.safetensors"


def _reference(params, x):
    t = {k: torch.from_numpy(v) for k, v in params.items()}
    pre = x @ t["W_enc"] + t["b_enc"]
    f = torch.relu(pre) * (pre > t["threshold"])
    out = f @ t["W_dec"] + t["b_dec"]
    if "affine_skip_connection" in t:
        out = out + x @ t["affine_skip_connection"]
    return f, out


def _x(*shape):
    return torch.randn(*shape, D, generator=torch.Generator().manual_seed(2)) * 2


def _close(a, b):
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


GS1 = "gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82"


def test_gemma_scope_1_npz(tmp_path):
    params = _params()
    file = _write_npz(tmp_path / GS1, params)
    sae = load_sae(str(file))
    x = _x(5)
    f, out = _reference(params, x)
    _close(sae.encode(x), f)
    _close(sae.decode(f), out)
    meta = sae.meta
    assert meta.architecture == "jumprelu" and not meta.apply_b_dec_to_input
    assert meta.hook_name == "blocks.12.hook_resid_post"
    assert meta.model_name == "gemma-2-2b" and meta.context_size == 1024
    assert (f > 0).any()


def test_folder_and_lowercase_keys(tmp_path):
    params = _params()
    file = _write_npz(
        tmp_path / "gemma-scope-9b-pt-mlp-canonical/layer_3/width_16k/canonical",
        params,
        lowercase=True,
    )
    sae = load_sae(str(file.parent))
    _close(sae.encode(_x(3)), _reference(params, _x(3))[0])
    assert sae.meta.hook_name == "blocks.3.hook_mlp_out"
    assert sae.meta.model_name == "gemma-2-9b"


def test_attention_is_hook_z(tmp_path):
    file = _write_npz(tmp_path / "gemma-scope-2b-pt-att/layer_5/width_16k/average_l0_40", _params())
    meta = load_sae(f"gemmascope:{file}").meta
    assert meta.hook_name == "blocks.5.attn.hook_z" and meta.reshape_activations == "hook_z"


def test_huggingface_cache_layout(tmp_path):
    folder = (
        tmp_path
        / "models--google--gemma-scope-9b-it-res/snapshots/0123abc/layer_9/width_16k/average_l0_88"
    )
    file = _write_npz(folder, _params())
    meta = load_sae(str(file)).meta
    assert (meta.hook_name, meta.model_name) == ("blocks.9.hook_resid_post", "gemma-2-9b-it")


def test_embedding_sae_rescaled(tmp_path):
    params = _params()
    file = _write_npz(tmp_path / "gemma-scope-2b-pt-res/embedding/width_4k/average_l0_6", params)
    sae = load_sae(str(file))
    assert sae.meta.hook_name == "hook_embed"
    _close(sae.W_enc, torch.from_numpy(params["W_enc"]) / math.sqrt(D))
    _close(sae.W_dec, torch.from_numpy(params["W_dec"]) * math.sqrt(D))


def test_gemma_scope_2_transcoder_with_affine_skip(tmp_path):
    params = _params(d_out=6, skip=True)
    folder = tmp_path / "gemma-scope-2-1b-pt/transcoder/layer_7_width_16k_l0_small_affine"
    file = _write_safetensors(folder, params)
    sae = load_sae(str(file))
    x = _x(4)
    f, out = _reference(params, x)
    _close(sae.encode(x), f)
    _close(sae.decode(f, x), out)
    assert sae.W_skip.shape == (6, D)  # stored (d_in, d_out), transposed to canonical
    meta = sae.meta
    assert meta.architecture == "jumprelu_transcoder" and meta.is_transcoder
    assert (meta.hook_name, meta.output_hook) == (
        "blocks.7.ln2.hook_out",
        "blocks.7.hook_mlp_out",
    )
    assert meta.model_name == "google/gemma-3-1b-pt"


def test_gemma_scope_2_resid_post(tmp_path):
    folder = tmp_path / "gemma-scope-2-270m-pt/resid_post/layer_4_width_16k_l0_small"
    meta = load_sae(str(_write_safetensors(folder, _params()))).meta
    assert (meta.hook_name, meta.model_name) == ("blocks.4.hook_resid_post", "google/gemma-3-270m")


def test_gemma_scope_2_config_json(tmp_path):
    file = _write_safetensors(tmp_path / "somewhere", _params())
    cfg = {"architecture": "jump_relu", "hf_hook_point_in": "model.layers.2.output"}
    (file.parent / "config.json").write_text(json.dumps(cfg))
    assert load_sae(str(file)).meta.hook_name == "blocks.2.hook_resid_post"


def test_no_hook_asks_for_saebench_json(tmp_path):
    file = _write_npz(tmp_path / "my_copy", _params())
    with pytest.raises(SaebenchError, match="saebench.json"):
        load_sae(str(file))
    (file.parent / "saebench.json").write_text(
        json.dumps({"hook_name": "blocks.1.hook_resid_post", "model_name": "gemma-2-2b"})
    )
    meta = load_sae(str(file)).meta
    assert (meta.hook_name, meta.model_name) == ("blocks.1.hook_resid_post", "gemma-2-2b")


def test_error_message_names_the_fix(tmp_path):
    file = _write_npz(tmp_path / "my_copy", _params())
    with pytest.raises(SaebenchError) as info:
        load_sae(str(file))
    message = str(info.value)
    assert "params.npz" in message and "saebench.json" in message and "hook_name" in message


def test_cfg_json_sidecar_overrides_path(tmp_path):
    file = _write_npz(tmp_path / GS1, _params())
    cfg = {"d_in": D, "metadata": {"hook_name": "blocks.11.hook_resid_post", "model_name": "m"}}
    (file.parent / "cfg.json").write_text(json.dumps(cfg))
    meta = load_sae(str(file)).meta
    assert (meta.hook_name, meta.model_name) == ("blocks.11.hook_resid_post", "m")


def test_sidecar_unknown_key(tmp_path):
    file = _write_npz(tmp_path / GS1, _params())
    (file.parent / "saebench.json").write_text(json.dumps({"hook": "blocks.1.hook_resid_post"}))
    with pytest.raises(SaebenchError, match="saebench.json: unknown key"):
        load_sae(str(file))


def test_missing_threshold(tmp_path):
    params = _params()
    del params["threshold"]
    file = _write_npz(tmp_path / GS1, params)
    with pytest.raises(SaebenchError, match="params.npz.*threshold"):
        load_sae(str(file))
