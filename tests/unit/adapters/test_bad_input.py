"""Broken checkpoints must fail with one SaebenchError naming the file or field and the fix."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import canonical_tensors
from safetensors.torch import save_file

from saebench import load_sae
from saebench.errors import SaebenchError

D, S = 4, 8


def _tensors():
    return canonical_tensors(D, S)


def _saelens(folder, tensors=None, cfg=None):
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors if tensors is not None else _tensors(), folder / "sae_weights.safetensors")
    base = {
        "d_in": D,
        "d_sae": S,
        "architecture": "standard",
        "metadata": {"hook_name": "blocks.0.hook_resid_post"},
    }
    (folder / "cfg.json").write_text(json.dumps(cfg if cfg is not None else base))
    return folder


def _sparsify(folder, tensors=None):
    folder.mkdir(parents=True, exist_ok=True)
    t = _tensors()
    raw = {
        "encoder.weight": t["W_enc"].T.contiguous(),
        "encoder.bias": t["b_enc"],
        "W_dec": t["W_dec"],
        "b_dec": t["b_dec"],
    }
    save_file(tensors if tensors is not None else raw, folder / "sae.safetensors")
    cfg = {"activation": "topk", "expansion_factor": 2, "num_latents": 0, "k": 2, "d_in": D}
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


def _error(uri) -> str:
    with pytest.raises(SaebenchError) as info:
        load_sae(str(uri))
    message = str(info.value)
    assert "\n" not in message  # one line
    return message


def test_path_missing(tmp_path):
    message = _error(tmp_path / "nowhere")
    assert "nowhere" in message and "no such file or directory" in message


@pytest.mark.parametrize(
    "scheme", ["saelens", "sparsify", "dictionary_learning", "gemmascope", "openai"]
)
def test_path_missing_with_scheme(tmp_path, scheme):
    message = _error(f"{scheme}:{tmp_path / 'nowhere'}")
    assert "nowhere" in message


def test_unknown_format(tmp_path):
    (tmp_path / "model.ckpt").write_bytes(b"1234")
    message = _error(tmp_path)
    assert "unknown checkpoint format" in message and "model.ckpt" in message
    assert "saelens:PATH" in message  # the fix: name the format


@pytest.mark.parametrize("maker", [_saelens, _sparsify])
def test_config_not_json(tmp_path, maker):
    folder = maker(tmp_path / "sae")
    (folder / "cfg.json").write_text("{d_in: 4,")
    message = _error(folder)
    assert "cfg.json" in message and "not valid JSON" in message


def test_dictionary_learning_config_not_json(tmp_path):
    folder = tmp_path / "trainer_0"
    folder.mkdir()
    torch.save({"bias": torch.zeros(D)}, folder / "ae.pt")
    (folder / "config.json").write_text("not json")
    message = _error(folder)
    assert "config.json" in message and "not valid JSON" in message


def test_config_missing_keys(tmp_path):
    folder = _saelens(tmp_path / "sae", cfg={"d_in": D, "architecture": "standard"})
    message = _error(folder)
    assert "cfg.json" in message and "d_sae" in message and "hook_name" in message


def test_sparsify_config_missing_d_in(tmp_path):
    folder = _sparsify(tmp_path / "layers.0")
    (folder / "cfg.json").write_text(json.dumps({"k": 2}))
    message = _error(folder)
    assert "cfg.json" in message and "d_in" in message


def test_unknown_architecture(tmp_path):
    cfg = {
        "d_in": D,
        "d_sae": S,
        "architecture": "hypercube",
        "metadata": {"hook_name": "blocks.0.hook_resid_post"},
    }
    message = _error(_saelens(tmp_path / "sae", cfg=cfg))
    assert "cfg.json" in message and "'hypercube'" in message and "python:" in message


def test_missing_tensor(tmp_path):
    tensors = _tensors()
    del tensors["b_enc"]
    message = _error(_saelens(tmp_path / "sae", tensors=tensors))
    assert "b_enc" in message and str(tmp_path / "sae") in message


def test_missing_tensor_sparsify(tmp_path):
    message = _error(_sparsify(tmp_path / "layers.0", tensors={"b_dec": torch.zeros(D)}))
    assert "sae.safetensors" in message and "encoder.weight" in message


def test_shapes_do_not_fit(tmp_path):
    tensors = _tensors()
    tensors["W_dec"] = tensors["W_dec"].T.contiguous()  # the classic transposed decoder
    message = _error(_saelens(tmp_path / "sae", tensors=tensors))
    assert "W_dec" in message and "(4, 8)" in message and "transposed" in message


def test_gemmascope_shapes_do_not_fit(tmp_path):
    folder = tmp_path / "gemma-scope-2b-pt-res/layer_1/width_16k/average_l0_5"
    folder.mkdir(parents=True)
    arrays = {k: v.numpy() for k, v in _tensors().items()}
    np.savez(folder / "params.npz", threshold=np.zeros(S + 1, np.float32), **arrays)
    message = _error(folder / "params.npz")
    assert "params.npz" in message and "threshold" in message


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_in_weights(tmp_path, bad):
    tensors = _tensors()
    tensors["W_enc"][1, 2] = bad
    message = _error(_saelens(tmp_path / "sae", tensors=tensors))
    assert "W_enc" in message and "NaN or Inf" in message and "re-export" in message


def test_nan_in_dictionary_learning(tmp_path):
    folder = tmp_path / "trainer_0"
    folder.mkdir()
    t = _tensors()
    state = {
        "bias": t["b_dec"],
        "encoder.weight": t["W_enc"].T,
        "encoder.bias": t["b_enc"],
        "decoder.weight": t["W_dec"].T.clone(),
    }
    state["decoder.weight"][0, 0] = float("nan")
    torch.save(state, folder / "ae.pt")
    (folder / "config.json").write_text(
        json.dumps({"trainer": {"dict_class": "AutoEncoder", "layer": 0}})
    )
    message = _error(folder)
    assert "ae.pt" in message and "NaN or Inf" in message


@pytest.mark.parametrize(
    "maker,name", [(_saelens, "sae_weights.safetensors"), (_sparsify, "sae.safetensors")]
)
def test_truncated_safetensors(tmp_path, maker, name):
    folder = maker(tmp_path / "layers.0")
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    message = _error(folder)
    assert name in message and "truncated" in message


def test_truncated_npz(tmp_path):
    folder = tmp_path / "gemma-scope-2b-pt-res/layer_1/width_16k/average_l0_5"
    folder.mkdir(parents=True)
    np.savez(folder / "params.npz", **{k: v.numpy() for k, v in _tensors().items()})
    data = (folder / "params.npz").read_bytes()
    (folder / "params.npz").write_bytes(data[: len(data) // 2])
    message = _error(folder / "params.npz")
    assert "params.npz" in message


class _Payload:
    """Unpickling this runs code that creates a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def test_pickle_payload_really_runs_when_allowed(tmp_path):
    """Control: the payload is live, so its absence below means the code never ran."""
    marker = tmp_path / "ran"
    torch.save({"bias": _Payload(marker)}, tmp_path / "evil.pt")
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("scheme", ["dictionary_learning", "openai", None])
def test_pickled_code_is_refused_and_never_runs(tmp_path, scheme):
    marker = tmp_path / "ran"
    folder = tmp_path / "trainer_0"
    folder.mkdir()
    torch.save({"pre_bias": _Payload(marker), "latent_bias": torch.zeros(S)}, folder / "ae.pt")
    (folder / "config.json").write_text(json.dumps({"trainer": {"dict_class": "AutoEncoder"}}))
    uri = f"{scheme}:{folder / 'ae.pt'}" if scheme else str(folder)
    message = _error(uri)
    assert "ae.pt" in message and "refused" in message and "state_dict" in message
    assert not marker.exists()


def test_torch_file_not_a_state_dict(tmp_path):
    folder = tmp_path / "trainer_0"
    folder.mkdir()
    torch.save([torch.zeros(2)], folder / "ae.pt")
    (folder / "config.json").write_text(json.dumps({"trainer": {"dict_class": "AutoEncoder"}}))
    message = _error(folder)
    assert "ae.pt" in message and "state dict" in message


def test_truncated_torch_file(tmp_path):
    folder = tmp_path / "trainer_0"
    folder.mkdir()
    torch.save(_tensors(), folder / "ae.pt")
    data = (folder / "ae.pt").read_bytes()
    (folder / "ae.pt").write_bytes(data[: len(data) // 2])
    (folder / "config.json").write_text(json.dumps({"trainer": {"dict_class": "AutoEncoder"}}))
    message = _error(folder)
    assert "ae.pt" in message and ("truncated" in message or "unreadable" in message)
