"""The activation cache: every shard verified on load, a bad one deleted, warned and recomputed."""

import os
import shutil
import warnings

import pytest
import torch
from helpers import make_model, make_sae
from safetensors import safe_open
from safetensors.torch import save_file

import saebench
from saebench.activations import cache as cache_module
from saebench.activations.cache import ActivationCache, CacheWarning
from saebench.errors import SaebenchError

NAMES = ["blocks.0.hook_resid_post", "blocks.1.hook_mlp_out"]


def _tokens(index: int) -> torch.Tensor:
    return torch.arange(index * 64, (index + 1) * 64).view(4, 16)


def _acts(index: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(index)
    return {name: torch.randn(4, 16, 8, generator=gen) for name in NAMES}


def _cache(root, model="tiny") -> ActivationCache:
    return ActivationCache(root, {"model": model, "batch_size": 4}, NAMES)


def _filled(root, n_batches: int = 3) -> ActivationCache:
    cache = _cache(root)
    for index in range(n_batches):
        cache.save(index, _tokens(index), _acts(index))
    return cache


def _read(path):
    with safe_open(str(path), framework="pt") as f:
        names = f.keys()  # the handle is not iterable
        return {name: f.get_tensor(name) for name in names}, f.metadata()


def _assert_same(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name].dtype == want[name].dtype and torch.equal(got[name], want[name])


# -- ways a shard goes wrong: each takes the cache folder's batch 0 shard ---------------------------
def _from_other_batch(cache, shard):
    shutil.copyfile(cache._shard(1), shard)


def _from_other_batch_same_tokens(cache, shard):
    cache.save(1, _tokens(0), _acts(0))  # only the batch index tells them apart
    shutil.copyfile(cache._shard(1), shard)


def _from_other_cache(cache, shard):
    other = _cache(cache.dir.parent, model="other")
    other.save(0, _tokens(0), _acts(0))  # same tokens, same values: only the key differs
    shutil.copyfile(other._shard(0), shard)


def _for_other_tokens(cache, shard):
    cache.save(0, _tokens(7), _acts(0))  # batch 0 of another token set under this key


def _altered_value(cache, shard):
    tensors, meta = _read(shard)
    tensors[NAMES[0]][1, 2, 3] += 1e-3
    save_file(tensors, str(shard), metadata=meta)


def _flipped_byte(cache, shard):
    data = bytearray(shard.read_bytes())
    data[-5] ^= 0x01
    shard.write_bytes(bytes(data))


def _truncated(cache, shard):
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])


def _random_bytes(cache, shard):
    shard.write_bytes(os.urandom(shard.stat().st_size))


def _empty(cache, shard):
    shard.write_bytes(b"")


def _deleted_tensor(cache, shard):
    tensors, meta = _read(shard)
    del tensors[NAMES[1]]
    save_file(tensors, str(shard), metadata=meta)


def _without_metadata(cache, shard):
    tensors, _ = _read(shard)  # as the previous saebench wrote them
    save_file(tensors, str(shard))


def _forged_shape(cache, shard):
    tensors, meta = _read(shard)
    tensors = {name: t[:2] for name, t in tensors.items()}
    meta = {**meta, "sha256": cache_module._checksum(tensors)}  # a consistent checksum
    save_file(tensors, str(shard), metadata=meta)


BAD_SHARDS = {
    "another batch": (_from_other_batch, "holds batch 1"),
    "another batch, same tokens": (_from_other_batch_same_tokens, "holds batch 1"),
    "another cache": (_from_other_cache, "another cache"),
    "other tokens": (_for_other_tokens, "other token ids"),
    "an altered value": (_altered_value, "checksum"),
    "a flipped byte": (_flipped_byte, "checksum"),
    "truncated": (_truncated, "cannot be read"),
    "random bytes": (_random_bytes, "cannot be read"),
    "empty": (_empty, "cannot be read"),
    "a deleted tensor": (_deleted_tensor, NAMES[1]),
    "no metadata": (_without_metadata, "no checksum"),
    "a forged shape": (_forged_shape, "shape"),
}


@pytest.mark.parametrize("spoil", list(BAD_SHARDS))
def test_a_bad_shard_is_warned_once_deleted_and_recomputed(tmp_path, spoil):
    action, problem = BAD_SHARDS[spoil]
    cache = _filled(tmp_path)
    shard = cache._shard(0)
    action(cache, shard)
    with pytest.warns(CacheWarning) as seen:
        assert cache.load(0, _tokens(0)) is None
    assert len(seen) == 1
    message = str(seen[0].message)
    assert str(shard) in message and problem in message and "recomputed" in message
    assert not shard.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same(cache.load(2, _tokens(2)), _acts(2))  # the others are untouched
        cache.save(0, _tokens(0), _acts(0))
        _assert_same(cache.load(0, _tokens(0)), _acts(0))
    assert not list(tmp_path.rglob("*.tmp"))


def test_an_intact_cache_reads_back_bit_for_bit(tmp_path):
    _filled(tmp_path)
    half = {name: t.half() for name, t in _acts(5).items()}
    _cache(tmp_path).save(5, _tokens(5), half)
    reopened = _cache(tmp_path)  # a later run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for index in range(3):
            _assert_same(reopened.load(index, _tokens(index)), _acts(index))
        _assert_same(reopened.load(5, _tokens(5)), half)
        assert reopened.load(3, _tokens(3)) is None  # never saved: a miss, not a warning
    assert [p.name for p in tmp_path.iterdir()] == [reopened.dir.name]
    assert not list(tmp_path.rglob("*.tmp"))


def test_load_follows_the_tokens_device_unless_told(tmp_path):
    cache = _filled(tmp_path, 1)
    assert all(t.device.type == "cpu" for t in cache.load(0, _tokens(0)).values())
    assert all(t.device.type == "meta" for t in cache.load(0, _tokens(0), "meta").values())


def test_save_replaces_an_unreadable_shard_and_keeps_a_valid_one(tmp_path):
    cache = _filled(tmp_path, 1)
    shard = cache._shard(0)
    before = shard.stat().st_mtime_ns
    cache.save(0, _tokens(0), _acts(0))
    assert shard.stat().st_mtime_ns == before  # not rewritten
    shard.write_bytes(b"not a shard")
    cache.save(0, _tokens(0), _acts(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same(cache.load(0, _tokens(0)), _acts(0))


def test_save_refuses_acts_that_break_the_shard_contract(tmp_path):
    cache = _cache(tmp_path)
    with pytest.raises(ValueError, match="names"):
        cache.save(0, _tokens(0), {NAMES[0]: _acts(0)[NAMES[0]]})
    with pytest.raises(ValueError, match="shape"):
        cache.save(0, _tokens(0), {name: t[:, :8] for name, t in _acts(0).items()})
    assert not list(tmp_path.rglob("*.safetensors"))


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import safetensors.torch

    def failing(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"half a shard")
        raise OSError(28, "No space left on device")

    cache = _cache(tmp_path)
    monkeypatch.setattr(safetensors.torch, "save_file", failing)
    with pytest.raises(SaebenchError, match="No space left"):
        cache.save(0, _tokens(0), _acts(0))
    assert not list(tmp_path.rglob("*.tmp")) and not cache._shard(0).exists()


def test_temporary_files_of_killed_writers_are_removed(tmp_path):
    import subprocess
    import sys

    cache = _filled(tmp_path, 1)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # its pid is now free: a writer killed mid-write
    orphans = [
        cache.dir / f".batch_000001.safetensors.{proc.pid}.k2x_9qpa.tmp",
        cache.dir / f".key.json.{proc.pid}.tmp",
    ]
    live = cache.dir / f".batch_000002.safetensors.{os.getpid()}.zz81ab_c.tmp"
    for path in [*orphans, live]:
        path.write_bytes(b"half a shard")
    _cache(tmp_path).save(1, _tokens(1), _acts(1))  # a later run, on its first write
    assert live.exists() and not any(path.exists() for path in orphans)


def test_a_corrupt_key_file_is_rewritten(tmp_path):
    cache = _filled(tmp_path, 1)
    key_file = cache.dir / "key.json"
    good = key_file.read_text()
    key_file.write_bytes(b"\xff{ not json")
    later = _cache(tmp_path)
    with pytest.warns(CacheWarning, match="key.json") as seen:
        later.save(1, _tokens(1), _acts(1))
    assert len(seen) == 1 and key_file.read_text() == good
    key_file.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _cache(tmp_path).save(2, _tokens(2), _acts(2))  # a missing one is simply written
        _assert_same(later.load(0, _tokens(0)), _acts(0))
    assert key_file.read_text() == good


def test_a_cache_root_that_is_a_file_is_a_user_error(tmp_path):
    root = tmp_path / "acts"
    root.write_text("")
    with pytest.raises(SaebenchError, match=str(root)):
        _cache(root).save(0, _tokens(0), _acts(0))


# -- end to end through saebench.evaluate ----------------------------------------------------------
def _evaluate(model, texts, cache_dir, evaluators=("sparsity",)):
    return saebench.evaluate(
        make_sae(),
        model=model,
        dataset=texts,
        evaluators=list(evaluators),
        n_tokens=256,
        context_size=16,
        batch_size=4,
        cache_dir=cache_dir,
        resume=False,
        progress=False,
    )


def _counting_loads(monkeypatch) -> list[bool]:
    hits: list[bool] = []
    original = ActivationCache.load

    def load(self, *args, **kwargs):
        found = original(self, *args, **kwargs)
        hits.append(found is not None)
        return found

    monkeypatch.setattr(ActivationCache, "load", load)
    return hits


def test_persistent_cache_serves_a_rerun_and_keeps_models_apart(
    tiny_model, texts, tmp_path, monkeypatch
):
    a = _evaluate(tiny_model, texts, tmp_path)
    hits = _counting_loads(monkeypatch)
    b = _evaluate(tiny_model, texts, tmp_path)
    assert hits and all(hits)  # every batch came from disk
    assert a[0].metrics == b[0].metrics
    other = make_model(tmp_path / "other", seed=1)  # same name, other weights
    c = _evaluate(other, texts, tmp_path)
    assert c[0].metrics != a[0].metrics
    assert len(list(tmp_path.glob("*/key.json"))) == 2
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_spoiled_cache_gives_the_numbers_of_no_cache(tiny_model, texts, tmp_path):
    cache_dir = tmp_path / "acts"
    _evaluate(tiny_model, texts, cache_dir, ["mdl"])
    shards = sorted(cache_dir.glob("*/batch_*.safetensors"))
    assert len(shards) > 3
    _flipped_byte(None, shards[0])
    shutil.copyfile(shards[1], shards[2])
    with pytest.warns(CacheWarning, match="recomputed") as seen:
        again = _evaluate(tiny_model, texts, cache_dir, ["mdl"])
    assert len([w for w in seen if issubclass(w.category, CacheWarning)]) == 2
    fresh = _evaluate(tiny_model, texts, None, ["mdl"])
    assert again[0].metrics == fresh[0].metrics


def test_two_hooks_holding_one_tensor_are_stored_and_read_back(tmp_path):
    """resid_post of a block is resid_pre of the next: one tensor under two names."""
    tokens = _tokens(0)
    shared = next(iter(_acts(0).values()))
    cache = ActivationCache(tmp_path, {"k": 1}, ["a", "b"])
    cache.save(0, tokens, {"a": shared, "b": shared})
    loaded = cache.load(0, tokens)
    assert torch.equal(loaded["a"], shared) and torch.equal(loaded["b"], shared)


def test_a_full_disk_while_writing_a_shard_is_one_line_naming_the_cache(tmp_path, monkeypatch):
    """Issue 18 item 9: safetensors raises its own error class on a full disk, not OSError."""
    from safetensors import SafetensorError

    def full_disk(*args, **kwargs):
        raise SafetensorError("Error while serializing: IoError(No space left on device)")

    monkeypatch.setattr("safetensors.torch.save_file", full_disk)
    cache = _cache(tmp_path)
    with pytest.raises(SaebenchError, match="cannot write the activation cache.*free space"):
        cache.save(0, _tokens(0), _acts(0))
    assert not list(tmp_path.rglob("*.tmp"))  # nothing half-written is left behind
