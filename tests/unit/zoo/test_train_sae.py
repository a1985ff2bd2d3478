"""The zoo's SAE trainers on synthetic data with a known sparse structure.

The data are sparse non-negative combinations (4 of 128 at a time) of known unit directions
in 64 dimensions, plus an offset, so every trainer can reach a high explained variance at
an L0 near 4. Each trainer runs once per module; the tests then check reconstruction,
the sparsity behaviour of its architecture, and the save/load round trip.
"""

from __future__ import annotations

import pytest
import torch

from saebench import load_sae
from saebench.adapters.saelens import save_saelens
from saebench.toolkit import references as R
from saebench.zoo.build import train_sae as T

D_IN, N_FEATURES, ACTIVE, N_SAMPLES, D_SAE = 64, 128, 4, 2000, 128
CONFIG = T.TrainConfig(n_tokens=100_000, batch_size=256, lr=3e-3, seed=0)
META = {"hook_name": "blocks.0.hook_resid_post", "model_name": "tiny-test"}
TRANSCODER_META = {
    "hook_name": "blocks.0.ln2.hook_normalized",
    "hook_name_out": "blocks.0.hook_mlp_out",
    "model_name": "tiny-test",
}


def synthetic(seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    directions = torch.randn(N_FEATURES, D_IN, generator=gen)
    directions /= directions.norm(dim=1, keepdim=True)
    chosen = torch.rand(N_SAMPLES, N_FEATURES, generator=gen).argsort(1)[:, :ACTIVE]
    magnitudes = 0.5 + 2 * torch.rand(N_SAMPLES, ACTIVE, generator=gen)
    codes = torch.zeros(N_SAMPLES, N_FEATURES).scatter(1, chosen, magnitudes)
    return codes @ directions + 0.3


def explained(target: torch.Tensor, estimate: torch.Tensor) -> float:
    residual = (target - estimate).pow(2).sum()
    return float(1 - residual / (target - target.mean(0)).pow(2).sum())


def l0(codes: torch.Tensor) -> float:
    return float((codes != 0).sum(-1).float().mean())


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    return synthetic()


@pytest.fixture(scope="module")
def linear_map():
    return torch.randn(D_IN, 32, generator=torch.Generator().manual_seed(1)) / D_IN**0.5


@pytest.fixture(scope="module")
def trained(data, linear_map):
    """Every trainer and baseline, trained once for the module."""
    common = {"config": CONFIG, "meta": META}
    return {
        "relu": T.train_relu(data, d_sae=D_SAE, **common),
        "topk": T.train_topk(data, k=ACTIVE, d_sae=D_SAE, **common),
        "batchtopk": T.train_batchtopk(data, k=ACTIVE, d_sae=D_SAE, **common),
        "jumprelu": T.train_jumprelu(data, d_sae=D_SAE, target_l0=ACTIVE, **common),
        "gated": T.train_gated(data, d_sae=D_SAE, **common),
        "matryoshka": T.train_matryoshka(data, k=ACTIVE, group_sizes=[16, 48, 64], **common),
        "transcoder": T.train_transcoder(
            data, data @ linear_map, d_sae=D_SAE, k=ACTIVE, config=CONFIG, meta=TRANSCODER_META
        ),
        "neurons": R.neuron_basis(data, meta=META),
        "pca": R.pca_basis(data, meta=META),
        "random": R.random_dictionary(data, d_sae=D_SAE, k=ACTIVE, seed=7, meta=META),
    }


@pytest.mark.parametrize(
    ("name", "bar"),
    [("relu", 0.8), ("topk", 0.93), ("batchtopk", 0.93), ("jumprelu", 0.9), ("gated", 0.88)],
)
def test_trained_saes_reconstruct(trained, data, name, bar):
    codes, x_hat = trained[name](data)
    assert explained(data, x_hat) > bar
    assert l0(codes) < 3 * ACTIVE
    assert trained[name].meta.architecture == name


def test_topk_fires_exactly_k(trained, data):
    codes = trained["topk"].encode(data)
    assert ((codes > 0).sum(-1) == ACTIVE).all()
    assert trained["topk"].meta.k == ACTIVE


def test_batchtopk_threshold_gives_l0_near_k(trained, data):
    sae = trained["batchtopk"]
    assert sae.encoder_kind == "jumprelu"
    assert (sae.threshold == sae.threshold[0]).all() and sae.threshold[0] > 0
    assert 0.7 * ACTIVE < l0(sae.encode(data)) < 1.3 * ACTIVE
    assert sae.meta.extra["k"] == ACTIVE


def test_jumprelu_thresholds_positive_and_l0_near_target(trained, data):
    sae = trained["jumprelu"]
    assert (sae.threshold > 0).all()
    assert 0.6 * ACTIVE < l0(sae.encode(data)) < 1.5 * ACTIVE


def test_matryoshka_prefixes_improve_with_size(trained, data):
    sae = trained["matryoshka"]
    assert sae.meta.extra["matryoshka_widths"] == [16, 64, 128]
    codes = sae.encode(data)
    scores = [
        explained(data, codes[:, :width] @ sae.W_dec[:width] + sae.b_dec)
        for width in sae.meta.extra["matryoshka_widths"]
    ]
    assert scores == sorted(scores) and scores[0] < scores[-1] - 0.2
    assert scores[-1] > 0.9
    assert 0.7 * ACTIVE < l0(codes) < 1.3 * ACTIVE


def test_transcoder_predicts_its_target(trained, data, linear_map):
    tc = trained["transcoder"]
    codes, y_hat = tc(data)
    assert explained(data @ linear_map, y_hat) > 0.6
    assert tc.meta.is_transcoder and tc.meta.d_out == 32
    assert not tc.meta.apply_b_dec_to_input
    assert ((codes > 0).sum(-1) <= ACTIVE).all()


@pytest.mark.parametrize("name", ["neurons", "pca"])
def test_signed_baselines_reconstruct_exactly(trained, data, name):
    sae = trained[name]
    codes, x_hat = sae(data)
    assert sae.d_sae == 2 * D_IN and sae.meta.architecture == name
    assert explained(data, x_hat) > 1 - 1e-6
    # a coordinate's positive and negative latents never fire together
    assert ((codes[:, :D_IN] > 0) & (codes[:, D_IN:] > 0)).sum() == 0


def test_random_dictionary_is_the_floor(trained, data):
    sae = trained["random"]
    assert torch.allclose(sae.W_dec.norm(dim=1), torch.ones(D_SAE))
    assert torch.equal(sae.W_enc, sae.W_dec.T)
    codes, x_hat = sae(data)
    assert ((codes > 0).sum(-1) <= ACTIVE).all()
    assert explained(data, x_hat) < explained(data, trained["topk"](data)[1]) - 0.3


def test_scaling_is_folded_into_the_saved_weights(data):
    """Training normalises; the SAE must still work on the raw (here huge) activations."""
    raw = data * 1000 + 50
    sae = T.train_topk(raw, k=ACTIVE, d_sae=D_SAE, config=CONFIG, meta=META)
    assert explained(raw, sae(raw)[1]) > 0.93
    assert torch.allclose(sae.W_dec.norm(dim=1), torch.ones(D_SAE), atol=1e-5)


def test_training_is_deterministic(data):
    config = T.TrainConfig(n_tokens=5_000, batch_size=256, seed=3)
    first = T.train_batchtopk(data, k=ACTIVE, d_sae=D_SAE, config=config)
    second = T.train_batchtopk(data, k=ACTIVE, d_sae=D_SAE, config=config)
    for name, tensor in first.named_tensors().items():
        assert torch.equal(tensor, second.named_tensors()[name]), name


@pytest.mark.parametrize(
    "name",
    ["relu", "topk", "batchtopk", "jumprelu", "gated", "matryoshka", "transcoder"]
    + ["neurons", "pca", "random"],
)
def test_saelens_round_trip(trained, data, tmp_path, name):
    sae = trained[name]
    loaded = load_sae(str(save_saelens(sae, tmp_path / name)))
    assert loaded.meta.architecture == sae.meta.architecture
    assert loaded.meta.hook_name == sae.meta.hook_name
    assert loaded.meta.hook_name_out == sae.meta.hook_name_out
    codes, x_hat = sae(data)
    loaded_codes, loaded_x_hat = loaded(data)
    assert torch.equal(codes, loaded_codes)
    assert torch.equal(x_hat, loaded_x_hat)
