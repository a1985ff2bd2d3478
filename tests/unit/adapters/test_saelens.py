"""The saelens adapter against sae-lens's own forward pass.

Each case builds an SAE with sae-lens, fills every tensor with random values (biases and
thresholds too, so their handling is exercised), saves it with sae-lens, loads the folder
with ``saebench.load_sae`` and compares ``encode``/``decode`` on random inputs.
"""

from __future__ import annotations

import json
import sys
import types

import pytest
import torch
from helpers import make_sae

from saebench import load_sae
from saebench.adapters.saelens import from_saelens_object, save_saelens
from saebench.errors import SaebenchError

D_IN, D_SAE, D_OUT = 8, 32, 6
ATOL = 1e-5


@pytest.fixture(scope="module")
def sl():
    """sae-lens, imported once for the module (the import alone takes seconds)."""
    return pytest.importorskip("sae_lens")


def _metadata(sl, hook="blocks.0.hook_resid_post", hook_out=None):
    from sae_lens.saes.sae import SAEMetadata

    fields = {"hook_name": hook, "model_name": "tiny"}
    if hook_out:
        fields["hook_name_out"] = hook_out
    return SAEMetadata(**fields)


def _randomise(sae, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sae.named_parameters():
            # Small weights keep values O(1), so an absolute 1e-5 is a real test.
            values = torch.randn(param.shape, generator=gen) * 0.3
            if name == "threshold":
                values = values.abs()
            param.copy_(values)


def _build(sl, arch: str, **options):
    """A random sae-lens SAE of ``arch`` plus the way to feed it inputs."""
    hook = options.pop("hook", "blocks.0.hook_resid_post")
    hook_out = options.pop("hook_out", None)
    classes = {
        "standard": (sl.StandardSAE, sl.StandardSAEConfig),
        "topk": (sl.TopKSAE, sl.TopKSAEConfig),
        "jumprelu": (sl.JumpReLUSAE, sl.JumpReLUSAEConfig),
        "gated": (sl.GatedSAE, sl.GatedSAEConfig),
        "transcoder": (sl.Transcoder, sl.TranscoderConfig),
        "skip_transcoder": (sl.SkipTranscoder, sl.SkipTranscoderConfig),
        "jumprelu_transcoder": (sl.JumpReLUTranscoder, sl.JumpReLUTranscoderConfig),
        "jumprelu_skip_transcoder": (sl.JumpReLUSkipTranscoder, sl.JumpReLUSkipTranscoderConfig),
    }
    cls, cfg_cls = classes[arch]
    if "transcoder" in arch:
        options.setdefault("d_out", D_OUT)
        options["apply_b_dec_to_input"] = False
        hook, hook_out = "blocks.0.ln2.hook_normalized", "blocks.0.hook_mlp_out"
    cfg = cfg_cls(d_in=D_IN, d_sae=D_SAE, metadata=_metadata(sl, hook, hook_out), **options)
    sae = cls(cfg)
    _randomise(sae)
    return sae


def _inputs(seed: int = 1, shape=(5, D_IN)) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * 2 + 0.3


def _assert_same(reference, ours, x, x_ours=None):
    """encode and decode agree with sae-lens; ``x_ours`` is our view of ``x`` (hook_z)."""
    x_ours = x if x_ours is None else x_ours
    with torch.no_grad():
        codes_ref = reference.encode(x)
        recon_ref = reference(x)  # forward: skip transcoders add their skip term only here
        codes = ours.encode(x_ours)
        recon = ours.decode(codes, x_ours)
    torch.testing.assert_close(codes, codes_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(recon, recon_ref.reshape(recon.shape), atol=ATOL, rtol=0)
    assert (codes > 0).any(), "the case must exercise active latents"


CASES = {
    "standard": ("standard", {}),
    "standard-no-bdec": ("standard", {"apply_b_dec_to_input": False}),
    "standard-layer-norm": ("standard", {"normalize_activations": "layer_norm"}),
    "topk": ("topk", {"k": 4}),
    "topk-layer-norm": ("topk", {"k": 4, "normalize_activations": "layer_norm"}),
    "topk-no-bdec": ("topk", {"k": 3, "apply_b_dec_to_input": False}),
    "jumprelu": ("jumprelu", {}),
    "jumprelu-no-bdec": ("jumprelu", {"apply_b_dec_to_input": False}),
    "gated": ("gated", {}),
    "transcoder": ("transcoder", {}),
    "skip_transcoder": ("skip_transcoder", {}),
    "jumprelu_transcoder": ("jumprelu_transcoder", {}),
    "jumprelu_skip_transcoder": ("jumprelu_skip_transcoder", {}),
}


@pytest.mark.parametrize(
    "case",
    sorted(CASES),
)
def test_matches_sae_lens(sl, tmp_path, case):
    arch, options = CASES[case]
    reference = _build(sl, arch, **options)
    reference.save_model(tmp_path)
    ours = load_sae(str(tmp_path))
    assert ours.meta.d_in == D_IN and ours.meta.d_sae == D_SAE
    _assert_same(reference, ours, _inputs())
    if "transcoder" in arch:
        assert ours.meta.is_transcoder and ours.d_out == D_OUT
        assert ours.meta.output_hook == "blocks.0.hook_mlp_out"
    assert ours.meta.hook_name.startswith("blocks.0.")


def test_sequence_batches_match(sl, tmp_path):
    reference = _build(sl, "topk", k=4)
    reference.save_model(tmp_path)
    _assert_same(reference, load_sae(str(tmp_path)), _inputs(shape=(2, 3, D_IN)))


def test_hook_z_reshape(sl, tmp_path):
    """sae-lens flattens [.., heads, d_head]; we take the flattened view."""
    reference = _build(sl, "standard", hook="blocks.0.attn.hook_z", reshape_activations="hook_z")
    reference.save_model(tmp_path)
    ours = load_sae(str(tmp_path))
    assert ours.meta.reshape_activations == "hook_z"
    x = _inputs(shape=(5, 2, D_IN // 2))
    _assert_same(reference, ours, x, x.flatten(-2))


@pytest.mark.parametrize("kind", ["batchtopk", "matryoshka"])
def test_batchtopk_inference_form(sl, tmp_path, kind):
    """BatchTopK and Matryoshka train in sae-lens and save their inference form (JumpReLU)."""
    meta = _metadata(sl)
    if kind == "batchtopk":
        cfg = sl.BatchTopKTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, k=4, metadata=meta)
        trainer = sl.BatchTopKTrainingSAE(cfg)
    else:
        cfg = sl.MatryoshkaBatchTopKTrainingSAEConfig(
            d_in=D_IN, d_sae=D_SAE, k=4, matryoshka_widths=[8, D_SAE], metadata=meta
        )
        trainer = sl.MatryoshkaBatchTopKTrainingSAE(cfg)
    _randomise(trainer)
    trainer.topk_threshold = torch.tensor(1.5, dtype=torch.double)
    trainer.save_inference_model(tmp_path)
    reference = sl.SAE.load_from_disk(tmp_path)
    ours = load_sae(str(tmp_path))
    assert ours.meta.architecture == kind
    assert ours.encoder_kind == "jumprelu"
    assert ours.meta.k is None and ours.meta.extra["k"] == 4
    if kind == "matryoshka":
        assert ours.meta.extra["matryoshka_widths"] == [8, D_SAE]
    _assert_same(reference, ours, _inputs())


def test_norm_scaling_factor_matches_folded_weights(sl, tmp_path):
    """expected_average_only_in + norm_scaling_factor equals sae-lens's folded weights."""
    reference = _build(sl, "standard")
    reference.save_model(tmp_path)
    cfg = json.loads((tmp_path / "cfg.json").read_text())
    cfg.update(normalize_activations="expected_average_only_in", norm_scaling_factor=0.7)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    ours = load_sae(str(tmp_path))
    reference.fold_activation_norm_scaling_factor(0.7)
    _assert_same(reference, ours, _inputs())


def test_pre6_config(sl, tmp_path):
    """A flat pre-6.0 cfg.json (hook_point, activation_fn_str topk) loads the same SAE."""
    reference = _build(sl, "topk", k=4)
    reference.save_model(tmp_path)
    old = {
        "d_in": D_IN,
        "d_sae": D_SAE,
        "hook_point": "blocks.0.hook_resid_post",
        "hook_point_layer": 0,
        "model_name": "tiny",
        "activation_fn_str": "topk",
        "activation_fn_kwargs": {"k": 4},
        "apply_b_dec_to_input": True,
        "normalize_activations": False,
        "context_size": 128,
        "sae_lens_version": "3.0.0",
    }
    (tmp_path / "cfg.json").write_text(json.dumps(old))
    ours = load_sae(f"saelens:{tmp_path}")
    assert ours.meta.architecture == "topk" and ours.meta.k == 4
    assert ours.meta.context_size == 128
    _assert_same(reference, ours, _inputs())


def test_from_live_object(sl):
    reference = _build(sl, "jumprelu")
    ours = from_saelens_object(reference, where="memory")
    _assert_same(reference, ours, _inputs())


def test_python_factory_returning_sae_lens(sl, monkeypatch):
    reference = _build(sl, "gated")
    module = types.ModuleType("saebench_test_sl_factory")
    module.make = lambda: reference
    monkeypatch.setitem(sys.modules, module.__name__, module)
    ours = load_sae(f"python:{module.__name__}:make")
    assert ours.meta.architecture == "gated"
    _assert_same(reference, ours, _inputs())


def test_rescale_acts_by_decoder_norm_loads(sl, tmp_path):
    reference = _build(sl, "topk", k=4, rescale_acts_by_decoder_norm=True)
    reference.save_model(tmp_path)
    _assert_same(reference, load_sae(str(tmp_path)), _inputs())


def test_rescale_flag_on_an_architecture_without_it_is_refused(sl, tmp_path):
    """sae-lens defines the rescale only for the TopK family; elsewhere it is a bad file."""
    _build(sl, "standard").save_model(tmp_path)
    cfg = json.loads((tmp_path / "cfg.json").read_text())
    (tmp_path / "cfg.json").write_text(json.dumps({**cfg, "rescale_acts_by_decoder_norm": True}))
    with pytest.raises(SaebenchError, match="rescale_acts_by_decoder_norm"):
        load_sae(str(tmp_path))


def test_bad_config_value_names_file(tmp_path):
    from safetensors.torch import save_file

    save_file({"W_enc": torch.zeros(2, 3)}, tmp_path / "sae_weights.safetensors")
    cfg = {"d_in": "wide", "d_sae": 3, "metadata": {"hook_name": "blocks.0.hook_resid_post"}}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(SaebenchError, match="cfg.json"):
        load_sae(str(tmp_path))


def test_a_saved_folder_keeps_its_metadata_in_sae_lens(tmp_path):
    """Without SAELens 6's version marker, sae-lens reads the file as pre-6 and loses the
    hook name, context size and BOS setting under ``metadata``."""
    from sae_lens import SAE

    save_saelens(make_sae("topk", k=4, context_size=48, prepend_bos=False), tmp_path / "s")
    loaded = SAE.load_from_disk(str(tmp_path / "s"))
    assert loaded.cfg.metadata.hook_name == "blocks.0.hook_resid_post"
    assert loaded.cfg.metadata.context_size == 48
    assert loaded.cfg.metadata.prepend_bos is False
