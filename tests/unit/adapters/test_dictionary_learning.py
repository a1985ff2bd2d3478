"""dictionary_learning folders, built by hand with the library's key names and orientations.

Reference outputs follow the library's documented forward passes (``dictionary.py`` and
``trainers/*.py``) written out with plain torch ops, independently of saebench's code.
"""

from __future__ import annotations

import json

import pytest
import torch

from saebench import load_sae
from saebench.errors import SaebenchError

D, S = 6, 16  # activation_dim, dict_size
GEN = torch.Generator().manual_seed(0)


def _rand(*shape, scale=0.5):
    return torch.randn(*shape, generator=GEN) * scale


def _x(*shape):
    return torch.randn(*shape, D, generator=torch.Generator().manual_seed(7))


def _write(folder, state, trainer, buffer=None):
    folder.mkdir(parents=True, exist_ok=True)
    trainer = {"activation_dim": D, "dict_size": S, "layer": 3, "lm_name": "tiny-lm", **trainer}
    config = {"trainer": trainer, "buffer": buffer or {"ctx_len": 64, "io": "out"}}
    (folder / "config.json").write_text(json.dumps(config))
    torch.save(state, folder / "ae.pt")
    return folder


def _close(actual, expected):
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


def _standard_state():
    return {
        "bias": _rand(D),
        "encoder.weight": _rand(S, D),
        "encoder.bias": _rand(S),
        "decoder.weight": _rand(D, S),  # columns deliberately not unit norm
    }


def test_autoencoder(tmp_path):
    state = _standard_state()
    sae = load_sae(str(_write(tmp_path / "ae", state, {"dict_class": "AutoEncoder"})))
    # AutoEncoder.from_pretrained(normalize_decoder=True), then encode/decode.
    norms = state["decoder.weight"].norm(dim=0)
    dec = state["decoder.weight"] / norms
    enc_w, enc_b = state["encoder.weight"] * norms[:, None], state["encoder.bias"] * norms
    x = _x(5)
    f = torch.relu((x - state["bias"]) @ enc_w.T + enc_b)
    x_hat = f @ dec.T + state["bias"]
    _close(sae.encode(x), f)
    _close(sae.decode(sae.encode(x)), x_hat)
    raw = torch.relu((x - state["bias"]) @ state["encoder.weight"].T + state["encoder.bias"])
    _close(x_hat, raw @ state["decoder.weight"].T + state["bias"])  # same output
    assert sae.meta.architecture == "standard" and sae.meta.apply_b_dec_to_input
    assert sae.W_dec.norm(dim=1).sub(1).abs().max() < 1e-5


def test_autoencoder_new(tmp_path):
    state = {
        "encoder.weight": _rand(S, D),
        "encoder.bias": _rand(S),
        "decoder.weight": _rand(D, S),
        "decoder.bias": _rand(D),
    }
    sae = load_sae(str(_write(tmp_path / "ae", state, {"dict_class": "AutoEncoderNew"})))
    x = _x(4)
    f = torch.relu(x @ state["encoder.weight"].T + state["encoder.bias"])
    _close(sae.encode(x), f)
    _close(sae.decode(f), f @ state["decoder.weight"].T + state["decoder.bias"])
    assert not sae.meta.apply_b_dec_to_input


def test_gated(tmp_path):
    state = {
        "decoder_bias": _rand(D),
        "encoder.weight": _rand(S, D),
        "r_mag": _rand(S),
        "gate_bias": _rand(S),
        "mag_bias": _rand(S),
        "decoder.weight": _rand(D, S),
    }
    sae = load_sae(str(_write(tmp_path / "ae", state, {"dict_class": "GatedAutoEncoder"})))
    x = _x(5)
    x_enc = (x - state["decoder_bias"]) @ state["encoder.weight"].T
    gate = (x_enc + state["gate_bias"] > 0).float()
    mag = torch.relu(state["r_mag"].exp() * x_enc + state["mag_bias"])
    f = gate * mag
    _close(sae.encode(x), f)
    _close(sae.decode(f), f @ state["decoder.weight"].T + state["decoder_bias"])
    assert sae.meta.architecture == "gated" and (f > 0).any()


def test_jumprelu(tmp_path):
    state = {
        "W_enc": _rand(D, S),
        "b_enc": _rand(S),
        "W_dec": _rand(S, D),
        "b_dec": _rand(D),
        "threshold": _rand(S).abs(),
    }
    sae = load_sae(str(_write(tmp_path / "ae", state, {"dict_class": "JumpReluAutoEncoder"})))
    x = _x(6)
    pre = x @ state["W_enc"] + state["b_enc"]  # apply_b_dec_to_input defaults to False
    f = torch.relu(pre * (pre > state["threshold"]))
    _close(sae.encode(x), f)
    _close(sae.decode(f), f @ state["W_dec"] + state["b_dec"])
    assert sae.meta.architecture == "jumprelu" and not sae.meta.apply_b_dec_to_input


def _topk_state(k=3, threshold=-1.0):
    return {
        "k": torch.tensor(k, dtype=torch.int),
        "threshold": torch.tensor(threshold),
        "encoder.weight": _rand(S, D),
        "encoder.bias": _rand(S),
        "decoder.weight": _rand(D, S),
        "b_dec": _rand(D),
    }


def _topk_reference(state, x, k):
    post = torch.relu((x - state["b_dec"]) @ state["encoder.weight"].T + state["encoder.bias"])
    top = post.topk(k, dim=-1)
    f = torch.zeros_like(post).scatter_(-1, top.indices, top.values)
    return f, f @ state["decoder.weight"].T + state["b_dec"]


def test_topk(tmp_path):
    state = _topk_state(k=3)
    folder = _write(tmp_path / "ae", state, {"dict_class": "AutoEncoderTopK", "k": 3})
    sae = load_sae(str(folder))
    x = _x(2, 4)
    f, x_hat = _topk_reference(state, x, 3)
    _close(sae.encode(x), f)
    _close(sae.decode(sae.encode(x)), x_hat)
    assert sae.meta.architecture == "topk" and sae.meta.k == 3


def test_batch_topk_uses_threshold(tmp_path):
    state = _topk_state(k=3, threshold=0.4)
    folder = _write(tmp_path / "ae", state, {"dict_class": "BatchTopKSAE", "k": 3})
    sae = load_sae(str(folder))
    x = _x(7)
    post = torch.relu((x - state["b_dec"]) @ state["encoder.weight"].T + state["encoder.bias"])
    f = post * (post > 0.4)
    _close(sae.encode(x), f)
    _close(sae.decode(f), f @ state["decoder.weight"].T + state["b_dec"])
    assert sae.meta.architecture == "batchtopk" and sae.encoder_kind == "jumprelu"
    assert sae.meta.extra["k"] == 3


@pytest.mark.parametrize("dict_class", ["BatchTopKSAE", "MatryoshkaBatchTopKSAE"])
def test_unset_threshold_is_refused(tmp_path, dict_class):
    if dict_class == "BatchTopKSAE":
        state = _topk_state(threshold=-1.0)
    else:
        state = {**_matryoshka_state(), "threshold": torch.tensor(-1.0)}
    folder = _write(tmp_path / "ae", state, {"dict_class": dict_class, "k": 3})
    with pytest.raises(SaebenchError, match="threshold.*threshold_start_step"):
        load_sae(str(folder))


def _matryoshka_state():
    return {
        "k": torch.tensor(3, dtype=torch.int),
        "threshold": torch.tensor(0.3),
        "group_sizes": torch.tensor([4, 12]),
        "W_enc": _rand(D, S),
        "b_enc": _rand(S),
        "W_dec": _rand(S, D),
        "b_dec": _rand(D),
    }


def test_matryoshka(tmp_path):
    state = _matryoshka_state()
    folder = _write(tmp_path / "ae", state, {"dict_class": "MatryoshkaBatchTopKSAE", "k": 3})
    sae = load_sae(str(folder))
    x = _x(5)
    post = torch.relu((x - state["b_dec"]) @ state["W_enc"] + state["b_enc"])
    f = post * (post > 0.3)  # all groups active at inference: nothing is zeroed past them
    _close(sae.encode(x), f)
    _close(sae.decode(f), f @ state["W_dec"] + state["b_dec"])
    assert sae.meta.architecture == "matryoshka"
    assert sae.meta.extra["group_sizes"] == [4, 12]


def _backup(state, trainer, norm_factor):
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.Adam([param])
    param.grad = torch.ones(3)
    optimizer.step()
    return {
        "step": 500,
        "ae": state,
        "optimizer": optimizer.state_dict(),
        "config": trainer,
        "norm_factor": norm_factor,
    }


def test_training_backup_dict_with_norm_factor(tmp_path):
    """The backup holds the SAE in normalised space; we fold norm_factor like the final save."""
    state = _topk_state(k=3)
    trainer = {"dict_class": "AutoEncoderTopK", "k": 3}
    folder = _write(tmp_path / "ae", _backup(state, trainer, 2.5), trainer)
    sae = load_sae(str(folder))
    x = _x(6) * 3
    f, x_hat = _topk_reference(state, x / 2.5, 3)  # the library trained on x / norm_factor
    _close(sae.encode(x), f * 2.5)
    _close(sae.decode(sae.encode(x)), x_hat * 2.5)
    assert sae.meta.extra["backup_step"] == 500
    assert sae.meta.extra["norm_factor_folded"] == 2.5


def test_training_backup_without_norm_factor(tmp_path):
    state = _topk_state(k=2)
    trainer = {"dict_class": "AutoEncoderTopK", "k": 2}
    sae = load_sae(str(_write(tmp_path / "ae", _backup(state, trainer, None), trainer)))
    x = _x(3)
    f, x_hat = _topk_reference(state, x, 2)
    _close(sae.encode(x), f)
    _close(sae.decode(f), x_hat)


def test_trainer_class_implies_dict_class(tmp_path):
    state = _standard_state()
    folder = _write(tmp_path / "ae", state, {"trainer_class": "StandardTrainer"})
    sae = load_sae(f"dictionary_learning:{folder}")
    assert sae.meta.extra["dict_class"] == "AutoEncoder"


def test_k_mismatch_is_an_error(tmp_path):
    folder = _write(tmp_path / "ae", _topk_state(k=3), {"dict_class": "AutoEncoderTopK", "k": 5})
    with pytest.raises(SaebenchError, match="k=3 in ae.pt but trainer.k=5"):
        load_sae(str(folder))


def test_metadata_from_config(tmp_path):
    folder = _write(tmp_path / "ae", _standard_state(), {"dict_class": "AutoEncoder"})
    meta = load_sae(str(folder)).meta
    assert meta.hook_name == "blocks.3.hook_resid_post"
    assert meta.model_name == "tiny-lm" and meta.context_size == 64


@pytest.mark.parametrize(
    ("submodule", "io", "hook"),
    [
        (None, "out", "blocks.3.hook_resid_post"),
        (None, "in", "blocks.3.hook_resid_pre"),
        ("resid_post_layer_5", "out", "blocks.5.hook_resid_post"),
        ("resid_post_layer_5", "in", "blocks.5.hook_resid_pre"),
        ("mlp_out_layer_2", "out", "blocks.2.hook_mlp_out"),
        ("attn_out_layer_1", "out", "blocks.1.hook_attn_out"),
        ("blocks.4.hook_resid_mid", "out", "blocks.4.hook_resid_mid"),
    ],
)
def test_hook_mapping(tmp_path, submodule, io, hook):
    trainer = {"dict_class": "AutoEncoder", "submodule_name": submodule}
    folder = _write(tmp_path / "ae", _standard_state(), trainer, {"io": io, "ctx_len": 8})
    assert load_sae(str(folder)).meta.hook_name == hook


def test_unmapped_submodule_asks_for_sidecar(tmp_path):
    trainer = {"dict_class": "AutoEncoder", "submodule_name": "model.layers.3.post_norm"}
    folder = _write(tmp_path / "ae", _standard_state(), trainer)
    with pytest.raises(SaebenchError, match="saebench.json"):
        load_sae(str(folder))
    (folder / "saebench.json").write_text(json.dumps({"hook_name": "blocks.3.ln2.hook_normalized"}))
    assert load_sae(str(folder)).meta.hook_name == "blocks.3.ln2.hook_normalized"


def test_sidecar_overrides_model(tmp_path):
    folder = _write(tmp_path / "ae", _standard_state(), {"dict_class": "AutoEncoder"})
    (folder / "saebench.json").write_text(json.dumps({"model_name": "pythia-70m-deduped"}))
    meta = load_sae(str(folder)).meta
    assert meta.model_name == "pythia-70m-deduped" and meta.hook_name == "blocks.3.hook_resid_post"


def test_unknown_dict_class(tmp_path):
    folder = _write(tmp_path / "ae", _standard_state(), {"dict_class": "CrossCoder"})
    with pytest.raises(SaebenchError, match="CrossCoder.*not supported"):
        load_sae(str(folder))


def test_wrong_dict_class_names_missing_tensors(tmp_path):
    folder = _write(tmp_path / "ae", _standard_state(), {"dict_class": "JumpReluAutoEncoder"})
    with pytest.raises(SaebenchError, match="ae.pt: missing tensor.*W_enc.*dict_class"):
        load_sae(str(folder))


def test_the_input_of_an_mlp_points_to_the_norm_output(tmp_path):
    """The MLP reads the norm's output with its gain (ln2.hook_out), not hook_normalized."""
    trainer = {"dict_class": "AutoEncoder", "submodule_name": "mlp_out_layer_2"}
    folder = _write(tmp_path / "ae", _standard_state(), trainer, {"io": "in", "ctx_len": 8})
    with pytest.raises(SaebenchError, match=r"blocks\.2\.ln2\.hook_out"):
        load_sae(str(folder))
