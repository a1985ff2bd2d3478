"""``saebench adapters check``: the report on a loaded SAE, with and without a model."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from saebench.adapters.check import AdapterReport, check_sae
from saebench.errors import SaebenchError
from saebench.sae import SaeMetadata, build_sae
from saebench.sae.standard import StandardSae

D_MODEL, D_MLP = 8, 16


@pytest.fixture(scope="module")
def model():
    """A two-layer HookedTransformer small enough to build in milliseconds."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = HookedTransformerConfig(
        n_layers=2,
        d_model=D_MODEL,
        n_ctx=16,
        d_head=4,
        n_heads=2,
        d_vocab=20,
        d_mlp=D_MLP,
        act_fn="relu",
    )
    return HookedTransformer(cfg)


def _folder(tmp_path, d_in=D_MODEL, d_sae=12, hook="blocks.1.hook_resid_post", **cfg):
    gen = torch.Generator().manual_seed(0)
    W_dec = torch.randn(d_sae, cfg.get("d_out", d_in), generator=gen)
    W_dec = W_dec / W_dec.norm(dim=1, keepdim=True)
    W_dec[3] = 0  # one dead latent
    tensors = {
        "W_enc": torch.randn(d_in, d_sae, generator=gen),
        "b_enc": torch.zeros(d_sae),
        "W_dec": W_dec,
        "b_dec": torch.zeros(cfg.get("d_out", d_in)),
    }
    save_file(tensors, tmp_path / "sae_weights.safetensors")
    config = {
        "d_in": d_in,
        "d_sae": d_sae,
        "architecture": "standard",
        "apply_b_dec_to_input": False,
        "metadata": {"hook_name": hook, "model_name": "tiny"},
        **cfg,
    }
    (tmp_path / "cfg.json").write_text(json.dumps(config))
    return str(tmp_path)


def test_report_without_model(tmp_path):
    report = check_sae(_folder(tmp_path))
    assert isinstance(report, AdapterReport) and report.ok
    assert report.adapter == "saelens" and report.architecture == "standard"
    assert (report.d_in, report.d_sae, report.d_out) == (D_MODEL, 12, D_MODEL)
    assert report.dtype == "float32" and report.hook_name == "blocks.1.hook_resid_post"
    shapes = {t.name: (t.shape, t.dtype) for t in report.tensors}
    assert shapes["W_enc"] == ([D_MODEL, 12], "float32") and shapes["W_dec"] == (
        [12, D_MODEL],
        "float32",
    )
    assert report.decoder.dead_rows == 1 and report.decoder.norm_min == 0.0
    assert report.decoder.unit_norm  # the live rows are unit norm
    names = [c.name for c in report.checks]
    assert {"shapes", "finite weights", "round trip shapes", "codes >= 0"} <= set(names)
    text = "\n".join(report.lines())
    assert "PASS  codes >= 0" in text and "result: ok" in text and "dead rows=1" in text
    assert report.to_table() == text
    assert report.model_dump(mode="json")["ok"] is True  # the CLI's --json output


def test_model_hook_width_ok(tmp_path, model):
    report = check_sae(_folder(tmp_path), model=model)
    hook_checks = [c for c in report.checks if c.name.startswith("input hook")]
    assert len(hook_checks) == 1 and hook_checks[0].ok and report.ok


def test_model_hook_width_wrong(tmp_path, model):
    report = check_sae(_folder(tmp_path, hook="blocks.0.mlp.hook_post"), model=model)
    failed = [c for c in report.checks if not c.ok]
    assert not report.ok and failed[0].name == "input hook blocks.0.mlp.hook_post"
    assert f"width {D_MLP} in the model, {D_MODEL} in the SAE" in failed[0].detail
    assert "FAIL  input hook" in "\n".join(report.lines())


def test_model_hook_missing(tmp_path, model):
    report = check_sae(_folder(tmp_path, hook="blocks.7.hook_resid_post"), model=model)
    assert not report.ok
    assert "not in model" in [c for c in report.checks if not c.ok][0].detail


def test_transcoder_output_hook(tmp_path, model):
    folder = _folder(
        tmp_path,
        hook="blocks.0.ln2.hook_normalized",
        architecture="transcoder",
        d_out=D_MODEL,
        hook_name_out="blocks.0.hook_mlp_out",
    )
    config = json.loads((tmp_path / "cfg.json").read_text())
    config["metadata"]["hook_name_out"] = config.pop("hook_name_out")
    (tmp_path / "cfg.json").write_text(json.dumps(config))
    report = check_sae(folder, model=model)
    names = [c.name for c in report.checks]
    assert "output hook blocks.0.hook_mlp_out" in names and report.ok
    assert report.hook_name_out == "blocks.0.hook_mlp_out"


def _sae(cls=StandardSae, d_in=4, d_sae=6):
    meta = SaeMetadata(
        architecture="standard", d_in=d_in, d_sae=d_sae, hook_name="blocks.0.hook_resid_post"
    )
    gen = torch.Generator().manual_seed(1)
    tensors = {
        "W_enc": torch.randn(d_in, d_sae, generator=gen),
        "b_enc": torch.zeros(d_sae),
        "W_dec": torch.randn(d_sae, d_in, generator=gen),
        "b_dec": torch.zeros(d_in),
    }
    sae = build_sae(meta, tensors, where="test")
    sae.__class__ = cls
    return sae


class _Signed(StandardSae):
    def activate(self, pre):
        return pre  # no ReLU: negative codes


class _Crashing(StandardSae):
    def activate(self, pre):
        raise RuntimeError("kernel missing")


def test_negative_codes_fail():
    report = check_sae(_sae(_Signed))
    assert report.adapter == "object" and not report.ok
    failed = [c for c in report.checks if not c.ok]
    assert [c.name for c in failed] == ["codes >= 0"] and "negative" in failed[0].detail


def test_crash_in_encode_is_reported():
    report = check_sae(_sae(_Crashing))
    failed = [c for c in report.checks if not c.ok]
    assert failed[0].name == "round trip" and "kernel missing" in failed[0].detail


def test_non_unit_decoder_is_reported_not_failed():
    report = check_sae(_sae())
    assert not report.decoder.unit_norm and report.ok


def test_unloadable_uri_raises(tmp_path):
    with pytest.raises(SaebenchError):
        check_sae(str(tmp_path / "absent"))
