"""Synthetic streams (deterministic, independent of how they are chunked), the on-disk
cache (read back without a rebuild, one folder per config) and the tier names."""

from __future__ import annotations

import pytest
import torch

import saebench.synthetic.build as build_module
from saebench.errors import SaebenchError
from saebench.synthetic import (
    BLOCK,
    TIER_RECIPES,
    TIERS,
    SynthConfig,
    batches,
    block,
    build_model,
    load_model,
    model_folder,
    samples,
    tier,
)
from saebench.synthetic.config import (
    CorrelationConfig,
    HierarchyConfig,
    MagnitudeConfig,
    ZipfConfig,
)

CONFIG = SynthConfig(
    num_features=64,
    hidden_dim=16,
    zipf=ZipfConfig(exponent=0.5, max_prob=0.4, min_prob=0.05),
    hierarchy=HierarchyConfig(
        total_root_nodes=2, branching_factor=3, max_depth=2, compensate_probabilities=False
    ),
    magnitudes=MagnitudeConfig(mean_start=2.0, mean_end=1.0, std_mean=0.3, std_std=0.2),
    correlation=CorrelationConfig(rank=3, scale=0.2),
    bias=1.0,
    seed=7,
)


@pytest.fixture(scope="module")
def model():
    return build_model(CONFIG)


def test_a_stream_does_not_depend_on_how_it_is_chunked(model):
    n = BLOCK + 1000  # spans two blocks
    x, a = samples(model, "eval", n)
    assert x.shape == (n, 16) and a.shape == (n, 64)
    for size in (1000, 777, n):
        parts = list(batches(model, "eval", n, size))
        assert [p[0].shape[0] for p in parts][:-1] == [size] * (len(parts) - 1)
        assert torch.equal(torch.cat([p[0] for p in parts]), x)
        assert torch.equal(torch.cat([p[1] for p in parts]), a)
    x_mid, a_mid = samples(model, "eval", 300, start=BLOCK - 100)
    assert torch.equal(x_mid, x[BLOCK - 100 : BLOCK + 200]) and torch.equal(
        a_mid, a[BLOCK - 100 : BLOCK + 200]
    )
    assert torch.equal(block(model, "eval", 1)[1][:1000], a[BLOCK:])


def test_streams_and_blocks_differ_and_rebuilds_agree(model):
    _, a = samples(model, "eval", 500)
    for other in ("train", "eval-1", "train-2"):
        assert not torch.equal(samples(model, other, 500)[1], a)
    assert not torch.equal(block(model, "eval", 1)[1][:500], a)
    assert torch.equal(samples(build_model(CONFIG), "eval", 500)[1], a)


def test_unknown_stream_names_are_refused(model):
    for bad in ("evel", "", "eval 1", "test"):
        with pytest.raises(SaebenchError, match="unknown synthetic stream"):
            samples(model, bad, 10)


def test_second_load_reads_the_cache_without_building(tmp_path, monkeypatch):
    first = load_model(CONFIG, cache_dir=tmp_path)
    folder = model_folder(CONFIG, "custom", tmp_path)
    assert folder.name == f"custom-{CONFIG.key()}" and (folder / "model.safetensors").is_file()

    def refuse(*args, **kwargs):
        raise AssertionError("rebuilt instead of reading the cache")

    monkeypatch.setattr(build_module, "build_model", refuse)
    second = load_model(CONFIG, cache_dir=tmp_path)
    for name, tensor in first.tensors().items():
        assert torch.equal(getattr(second, name), tensor), name
    assert torch.equal(samples(second, "eval", 100)[1], samples(first, "eval", 100)[1])


def test_a_changed_config_gets_its_own_folder_and_a_broken_one_is_rebuilt(tmp_path):
    load_model(CONFIG, cache_dir=tmp_path)
    other = CONFIG.model_copy(update={"seed": 8})
    assert other.key() != CONFIG.key()
    load_model(other, cache_dir=tmp_path)
    folders = sorted(p.name for p in (tmp_path / "synthetic").iterdir())
    assert folders == sorted([f"custom-{CONFIG.key()}", f"custom-{other.key()}"])
    (model_folder(CONFIG, "custom", tmp_path) / "model.safetensors").write_bytes(b"broken")
    again = load_model(CONFIG, cache_dir=tmp_path)
    assert torch.equal(again.features, build_model(CONFIG).features)


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SAEBENCH_CACHE", str(tmp_path))
    assert model_folder(CONFIG, "custom").parent == tmp_path / "synthetic"


def test_config_key_is_stable_and_sees_every_field():
    assert CONFIG.key() == SynthConfig(**CONFIG.model_dump()).key()
    changed = [
        CONFIG.model_copy(update={"bias": 0.5}),
        CONFIG.model_copy(
            update={"hierarchy": CONFIG.hierarchy.model_copy(update={"min_depth": 1})}
        ),
        CONFIG.model_copy(update={"correlation": None}),
    ]
    assert len({c.key() for c in changed} | {CONFIG.key()}) == 4


def test_tiers_and_identity(tmp_path):
    assert set(TIERS) == set(TIER_RECIPES) == {"synth-1k", "synth-4k", "synthsaebench-16k"}
    assert (tier("synth-4k").num_features, tier("synth-4k").hidden_dim) == (4096, 256)
    assert tier("synth-4k").hierarchy.total_root_nodes == 32
    big = tier("synthsaebench-16k")
    assert (big.num_features, big.hidden_dim, big.hierarchy.total_root_nodes, big.bias) == (
        16384,
        768,
        128,
        0.5,
    )
    assert (big.orthogonalization.steps, big.orthogonalization.lr) == (100, 3e-4)
    model = load_model("synth-1k", cache_dir=tmp_path)
    assert model.identity() == {"name": "synth-1k", "config_key": tier("synth-1k").key()}
    assert load_model(tier("synth-1k"), cache_dir=tmp_path).name == "synth-1k"


def test_unknown_tier_error_is_one_line_naming_the_tiers():
    with pytest.raises(SaebenchError) as caught:
        tier("synth-2k")
    message = str(caught.value)
    assert "\n" not in message and "synth-2k" in message
    assert all(name in message for name in TIERS)
    with pytest.raises(SaebenchError, match="did you mean 'synth-1k'"):
        tier("synth-1K")


def test_a_block_does_not_depend_on_the_thread_count(model):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        x1, a1 = block(model, "train", 2)
        torch.set_num_threads(2)
        x2, a2 = block(model, "train", 2)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(a1, a2) and torch.equal(x1, x2)
