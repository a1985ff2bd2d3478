"""The SmolLM2 SAE build (saebench.zoo.build.smollm2_saes) on a fake activation buffer, and
the catalog that ships its SAEs as ``zoo:smollm2-NAME`` beside the toy zoo's ``zoo:*``."""

import json

import numpy as np
import pytest
import torch

from saebench.zoo.build import smollm2_saes as B


def _fake_buffer(path, rows=1024, capacity=2048):
    path.mkdir()
    rng = np.random.default_rng(0)
    for hook in B.HOOKS:
        mm = np.memmap(path / f"{hook}.f16", dtype=np.float16, mode="w+", shape=(capacity, 576))
        mm[:rows] = rng.standard_normal((rows, 576)).astype(np.float16) * 3
        mm.flush()
    progress = {"capacity": capacity, "rows": rows, "contexts": 16, "seconds": 1.0}
    (path / "progress.json").write_text(json.dumps(progress))


def test_train_saves_float16_saes_that_load_in_float32(tmp_path, monkeypatch):
    from saebench.adapters.saelens import SaeLensAdapter

    buffer, out = tmp_path / "buffer", tmp_path / "out"
    _fake_buffer(buffer)
    monkeypatch.setattr(B, "CONFIG", B.T.TrainConfig(batch_size=512, log_every=1))
    B.train(buffer, out, ["resid-topk-32", "resid-pca", "transcoder-topk-32"], lambda m: None)
    acts = B.load_buffer(buffer)
    assert acts[B.RESID].shape == (1024, 576) and acts[B.RESID].dtype == torch.float16
    for name in ("resid-topk-32", "resid-pca", "transcoder-topk-32"):
        cfg = json.loads((out / name / "cfg.json").read_text())
        assert cfg["dtype"] == "float16" and cfg["metadata"]["model_name"] == B.MODEL
        assert cfg["metadata"]["prepend_bos"] is False
        assert cfg["metadata"]["context_size"] == B.CONTEXT
        sae = SaeLensAdapter.load(str(out / name), dtype=torch.float32)
        assert sae.dtype == torch.float32
    tc = json.loads((out / "transcoder-topk-32" / "cfg.json").read_text())["metadata"]
    assert (tc["hook_name"], tc["hook_name_out"]) == (B.MLP_IN, B.MLP_OUT)
    topk = json.loads((buffer / "logs" / "resid-topk-32.json").read_text())
    assert topk["train_tokens"] == 1024 and topk["steps"] == 2 and "step 2/2" in topk["final"]
    pca = json.loads((buffer / "logs" / "resid-pca.json").read_text())
    assert pca["steps"] == 0 and pca["final"] is None  # closed form


def test_load_buffer_without_collect_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="run `collect` first"):
        B.load_buffer(tmp_path)


def test_smollm2_names_are_separate_from_the_toy_zoo(tmp_path, monkeypatch):
    from saebench.run.suites import expand_glob
    from saebench.zoo import catalog

    root = tmp_path / "saes_smollm2" / "resid-topk-32"
    root.mkdir(parents=True)
    cfg = {"d_sae": 8, "metadata": {"hook_name": B.RESID, "model_name": B.MODEL}}
    (root / "cfg.json").write_text(json.dumps(cfg))
    monkeypatch.setattr(catalog, "zoo_root", lambda: tmp_path)
    assert "smollm2-resid-topk-32" in catalog.all_sae_names()
    assert "smollm2-resid-topk-32" not in catalog.sae_names()
    assert "zoo:smollm2-resid-topk-32" not in expand_glob("zoo:*", tmp_path)
    assert expand_glob("zoo:smollm2-*", tmp_path) == ["zoo:smollm2-resid-topk-32"]
    assert catalog.sae_folder("smollm2-resid-topk-32") == root
    assert catalog.sae_model("smollm2-resid-topk-32") == "smollm2-135m"
    assert catalog.sae_model("resid-topk-16") == "zoo"
    row = next(r for r in catalog.describe() if r["uri"] == "zoo:smollm2-resid-topk-32")
    assert row["model"] == "smollm2-135m" and row["hook"] == B.RESID
