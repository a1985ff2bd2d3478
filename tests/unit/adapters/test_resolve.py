"""SAE URIs: schemes, and format detection of bare paths over every registered adapter."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import canonical_tensors
from safetensors.torch import save_file

from saebench import load_sae
from saebench.adapters.resolve import read_uri
from saebench.errors import SaebenchError
from saebench.registry import adapters

D, S = 4, 8


def _canonical():
    return canonical_tensors(D, S)


def saelens_folder(root):
    folder = root / "saelens"
    folder.mkdir()
    save_file(_canonical(), folder / "sae_weights.safetensors")
    cfg = {
        "d_in": D,
        "d_sae": S,
        "architecture": "standard",
        "apply_b_dec_to_input": True,
        "metadata": {"hook_name": "blocks.0.hook_resid_post"},
    }
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


def sparsify_folder(root):
    folder = root / "layers.0"
    folder.mkdir()
    t = _canonical()
    save_file(
        {
            "encoder.weight": t["W_enc"].T.contiguous(),
            "encoder.bias": t["b_enc"],
            "W_dec": t["W_dec"],
            "b_dec": t["b_dec"],
        },
        folder / "sae.safetensors",
    )
    cfg = {
        "activation": "topk",
        "expansion_factor": 2,
        "num_latents": 0,
        "k": 2,
        "skip_connection": False,
        "transcode": False,
        "d_in": D,
    }
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder


def dictionary_learning_folder(root):
    folder = root / "trainer_0"
    folder.mkdir()
    t = _canonical()
    state = {
        "bias": t["b_dec"],
        "encoder.weight": t["W_enc"].T,
        "encoder.bias": t["b_enc"],
        "decoder.weight": t["W_dec"].T,
    }
    torch.save(state, folder / "ae.pt")
    trainer = {"dict_class": "AutoEncoder", "layer": 0, "lm_name": "m"}
    (folder / "config.json").write_text(json.dumps({"trainer": trainer}))
    return folder


def gemmascope_file(root):
    folder = root / "gemma-scope-2b-pt-res" / "layer_0" / "width_16k" / "average_l0_1"
    folder.mkdir(parents=True)
    arrays = {k: v.numpy() for k, v in _canonical().items()}
    np.savez(folder / "params.npz", threshold=np.zeros(S, np.float32), **arrays)
    return folder / "params.npz"


def openai_file(root):
    folder = root / "resid_post_mlp" / "autoencoders"
    folder.mkdir(parents=True)
    t = _canonical()
    state = {
        "pre_bias": t["b_dec"],
        "encoder.weight": t["W_enc"].T,
        "latent_bias": t["b_enc"],
        "decoder.weight": t["W_dec"].T,
        "activation": "ReLU",
    }
    torch.save(state, folder / "0.pt")
    return folder / "0.pt"


MAKERS = {
    "saelens": saelens_folder,
    "sparsify": sparsify_folder,
    "dictionary_learning": dictionary_learning_folder,
    "gemmascope": gemmascope_file,
    "openai": openai_file,
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_detects_each_format(tmp_path, name):
    path = MAKERS[name](tmp_path)
    assert read_uri(str(path)) == (name, str(path))
    sae = load_sae(str(path))
    assert sae.d_in == D and sae.d_sae == S
    assert sae.meta.source == str(path)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_exactly_one_adapter_claims_each_format(tmp_path, name):
    path = MAKERS[name](tmp_path)
    claims = [a for a in adapters.names() if adapters.get(a).detect(path)]
    assert claims == [name]


def test_weights_files_detected(tmp_path):
    sparsify = sparsify_folder(tmp_path) / "sae.safetensors"
    assert read_uri(str(sparsify))[0] == "sparsify"
    assert load_sae(str(sparsify)).meta.hook_name == "blocks.0.hook_resid_post"
    trainer = dictionary_learning_folder(tmp_path)
    assert read_uri(str(trainer / "ae.pt"))[0] == "dictionary_learning"
    (trainer / "checkpoints").mkdir()
    (trainer / "ae.pt").rename(trainer / "checkpoints" / "ae_100.pt")
    checkpoint = trainer / "checkpoints" / "ae_100.pt"
    assert read_uri(str(checkpoint))[0] == "dictionary_learning"
    assert load_sae(str(checkpoint)).meta.model_name == "m"


def test_gemmascope_folder_detected(tmp_path):
    file = gemmascope_file(tmp_path)
    assert read_uri(str(file.parent))[0] == "gemmascope"


def test_scheme_wins_over_detection(tmp_path):
    folder = saelens_folder(tmp_path)
    assert read_uri(f"saelens:{folder}") == ("saelens", str(folder))
    assert load_sae(f"saelens:{folder}").meta.source == f"saelens:{folder}"


def test_zoo_scheme_is_parsed():
    assert read_uri("zoo:resid-topk-16") == ("zoo", "resid-topk-16")


def test_unknown_scheme_suggests(tmp_path):
    with pytest.raises(SaebenchError, match="did you mean 'sparsify'"):
        read_uri("sparsfy:/no/such/folder")


def test_missing_path():
    with pytest.raises(SaebenchError, match="no such file or directory"):
        load_sae("/no/such/sae/folder")


def test_unknown_format_lists_files(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"\0" * 8)
    with pytest.raises(SaebenchError, match="unknown checkpoint format.*weights.bin"):
        load_sae(str(tmp_path))


def test_sae_object_passes_through(tmp_path):
    sae = load_sae(str(saelens_folder(tmp_path)))
    assert load_sae(sae) is sae
    assert load_sae(sae, dtype=torch.float64).dtype == torch.float64


def test_loaded_sae_is_frozen(tmp_path):
    sae = load_sae(str(sparsify_folder(tmp_path)))
    assert not sae.training
    assert not any(p.requires_grad for p in sae.parameters())
