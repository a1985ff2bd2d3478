"""The synthetic-tier trainers (saebench.zoo.build.synth_saes): every architecture trains and
reloads through the adapter with the tier's metadata; the L1 steering moves the right way."""

import math

import pytest
import torch

from saebench.adapters.saelens import SaeLensAdapter
from saebench.errors import SaebenchError
from saebench.zoo.build import synth_saes as S


def sparse_data(n=4096, n_features=512, d=128, seed=0):
    """x = a F + b with about 6 of ``n_features`` unit directions active per row."""
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(n_features, d, generator=g)
    features /= features.norm(dim=1, keepdim=True)
    a = (torch.rand(n, n_features, generator=g) < 6 / n_features) * torch.rand(
        n, n_features, generator=g
    )
    return a @ features + 0.1


@pytest.mark.parametrize("arch", S.ARCHITECTURES)
def test_each_architecture_trains_and_reloads_with_the_tier_metadata(arch, tmp_path):
    x = sparse_data()
    trained = S.train(x, "synth-1k", arch, samples=3 * 1024, seed=0)
    assert (trained.steps, trained.samples) == (3, 3 * 1024)
    assert math.isfinite(trained.final_loss) and "step 3/3" in trained.final
    S.save(trained, tmp_path / "sae")
    sae = SaeLensAdapter.load(str(tmp_path / "sae"), dtype=torch.float32)
    meta = sae.meta
    assert (meta.architecture, meta.model_name, meta.hook_name) == (arch, "synth-1k", "hook_x")
    assert (meta.d_in, meta.d_sae, meta.context_size, meta.prepend_bos) == (128, 256, 1, False)
    # the saved (float16) SAE computes what the trained one does, up to float16 rounding
    assert torch.allclose(sae.W_dec, trained.sae.W_dec, atol=1e-3)
    recon = sae.decode(sae.encode(x[:64]), x[:64])
    assert (recon - trained.sae.decode(trained.sae.encode(x[:64]), x[:64])).abs().max() < 0.05
    assert trained.sae.dtype == torch.float32  # saving in float16 left the trained SAE alone


def test_the_topk_family_keeps_k_and_the_rest_steer_to_it():
    x = sparse_data()
    topk = S.train(x, "synth-1k", "topk", k=4, samples=1024).sae
    assert topk.meta.k == 4 and int((topk.encode(x) != 0).sum(1).max()) <= 4
    matryoshka = S.train(x, "synth-1k", "matryoshka", k=4, samples=1024).sae
    assert matryoshka.meta.extra["group_sizes"] == [8, 24, 96, 128]


def test_steering_multiplies_the_l1_coefficient_by_the_l0_ratio_to_a_power():
    class Step:
        def __init__(self, sparsity):
            self.sparsity = sparsity

    model = S._SteeredRelu(
        16, 32, torch.zeros(16), False, torch.Generator(), target_l0=12.0, gain=0.02, l1_coeff=0.01
    )
    model.steer(24.0, Step(1.0))
    assert model.l1_coeff == pytest.approx(0.01 * 2**0.02)
    model.steer(6.0, Step(1.0))  # back down by the same factor
    assert model.l1_coeff == pytest.approx(0.01)
    model.steer(48.0, Step(0.5))  # still warming up: frozen
    assert model.l1_coeff == pytest.approx(0.01)


def test_matryoshka_groups_nest_at_a_32nd_an_8th_and_a_half():
    assert S.matryoshka_groups(1024) == [32, 96, 384, 512]
    assert sum(S.matryoshka_groups(256)) == 256


def test_bad_tier_arch_or_k_is_a_one_line_error():
    x = sparse_data(n=256)
    with pytest.raises(
        SaebenchError, match="unknown synthetic tier 'synth-9k'.*known tiers are synth-1k"
    ):
        S.train(x, "synth-9k", "topk")
    with pytest.raises(SaebenchError, match="unknown architecture 'lista'; choose one of topk"):
        S.train(x, "synth-1k", "lista")
    with pytest.raises(SaebenchError, match="k must be between 1 and 255"):
        S.train(x, "synth-1k", "topk", k=300)


def test_plan_names_carry_tier_arch_k_and_seed():
    names = [spec.name for spec in S.plan()]
    assert "synth4k-topk-12-s0" in names and "synth4k-topk-12-s2" in names
    assert {f"synth4k-{a}-12-s0" for a in S.ARCHITECTURES} <= set(names)
    assert len(names) == len(set(names))


def test_synth_zoo_names_resolve_to_their_folder_and_tier(tmp_path, monkeypatch):
    from saebench.adapters.zoo import ZooAdapter
    from saebench.run.suites import expand_glob
    from saebench.zoo import catalog

    monkeypatch.setattr(catalog, "zoo_root", lambda: tmp_path)
    trained = S.train(sparse_data(), "synth-1k", "topk", samples=1024)
    S.save(trained, tmp_path / "saes_synth" / "synth4k-topk-12-s0")
    assert "synth4k-topk-12-s0" in catalog.all_sae_names()
    assert "synth4k-topk-12-s0" not in catalog.sae_names()  # zoo:* stays the toy zoo's
    assert (
        catalog.sae_folder("synth4k-topk-12-s0") == tmp_path / "saes_synth" / "synth4k-topk-12-s0"
    )
    assert catalog.sae_model("synth4k-topk-12-s0") == "synth-4k"
    assert catalog.sae_model("synth1k-relu-6-s0") == "synth-1k"
    assert expand_glob("zoo:synth4k-*", tmp_path) == ["zoo:synth4k-topk-12-s0"]
    sae = ZooAdapter.load("synth4k-topk-12-s0")
    assert sae.meta.model_name == "synth-4k" and sae.dtype == torch.float32
