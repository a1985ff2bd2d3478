"""sae-lens folders as its trainer writes them by default, against sae-lens's own forward.

A TopK-family training SAE keeps ``rescale_acts_by_decoder_norm: true`` in every file it
writes (mid-training checkpoints and even the inference save), and a checkpoint of a run
with ``normalize_activations: expected_average_only_in`` carries its factor in
``activation_scaler.json`` beside it. Each case is built with sae-lens's classes and saved
with its own save functions.
"""

from __future__ import annotations

import json

import pytest
import torch

from saebench import load_sae
from saebench.errors import SaebenchError

D_IN, D_SAE, K = 8, 32, 4
ATOL = 1e-5


@pytest.fixture(scope="module")
def sl():
    return pytest.importorskip("sae_lens")


def _training_sae(sl, kind: str, **options):
    from sae_lens.saes.sae import SAEMetadata

    meta = SAEMetadata(hook_name="blocks.0.hook_resid_post", model_name="tiny")
    classes = {
        "topk": (sl.TopKTrainingSAE, sl.TopKTrainingSAEConfig, {}),
        "batchtopk": (sl.BatchTopKTrainingSAE, sl.BatchTopKTrainingSAEConfig, {}),
        "matryoshka": (
            sl.MatryoshkaBatchTopKTrainingSAE,
            sl.MatryoshkaBatchTopKTrainingSAEConfig,
            {"matryoshka_widths": [8, D_SAE]},
        ),
    }
    cls, cfg_cls, extra = classes[kind]
    cfg = cfg_cls(d_in=D_IN, d_sae=D_SAE, k=K, metadata=meta, **extra, **options)
    assert cfg.rescale_acts_by_decoder_norm, "sae-lens's default, which these tests are about"
    sae = cls(cfg)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in sae.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.3)
        # decoder rows of very different norms: folding them wrongly must show
        sae.W_dec.mul_(torch.linspace(0.2, 3.0, D_SAE)[:, None])
    if kind != "topk":
        sae.topk_threshold = torch.tensor(0.4, dtype=torch.double)
    return sae.eval()


def _inputs(seed: int = 1, n: int = 64) -> torch.Tensor:
    return torch.randn(n, D_IN, generator=torch.Generator().manual_seed(seed)) * 2 + 0.3


def _compare(codes_ref, recon_ref, ours, x) -> float:
    with torch.no_grad():
        codes = ours.encode(x)
        recon = ours.decode(codes, x)
    torch.testing.assert_close(codes, codes_ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(recon, recon_ref, atol=ATOL, rtol=0)
    assert (codes > 0).any()
    return float((recon - recon_ref).abs().max())


def test_topk_checkpoint_with_rescale_matches_sae_lens_forward(sl, tmp_path):
    """A mid-training TopK checkpoint: sae-lens's training forward rescales by the decoder
    norms at run time; ours folds them in on loading."""
    reference = _training_sae(sl, "topk")
    reference.save_model(tmp_path)
    assert json.loads((tmp_path / "cfg.json").read_text())["rescale_acts_by_decoder_norm"]
    ours = load_sae(str(tmp_path))
    x = _inputs()
    with torch.no_grad():
        codes_ref = reference.encode(x)
        recon_ref = reference.decode(codes_ref)
    _compare(codes_ref, recon_ref, ours, x)
    assert ours.encoder_kind == "topk" and ours.meta.k == K
    norms = ours.W_dec.norm(dim=1)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_topk_inference_save_with_rescale_loads(sl, tmp_path):
    """save_inference_model folds the norms but keeps the flag true in cfg.json."""
    trainer = _training_sae(sl, "topk")
    trainer.save_inference_model(tmp_path)
    reference = sl.SAE.load_from_disk(str(tmp_path))
    ours = load_sae(str(tmp_path))
    x = _inputs()
    with torch.no_grad():
        codes_ref = reference.encode(x)
        recon_ref = reference.decode(codes_ref)
    _compare(codes_ref, recon_ref, ours, x)


@pytest.mark.parametrize("kind", ["batchtopk", "matryoshka"])
def test_batchtopk_checkpoint_matches_its_inference_form(sl, tmp_path, kind):
    """A mid-training BatchTopK/Matryoshka checkpoint holds ``topk_threshold`` and the
    rescale flag; it must load as the JumpReLU that sae-lens's own inference save gives."""
    trainer = _training_sae(sl, kind)
    trainer.save_model(tmp_path / "checkpoint")
    trainer.save_inference_model(tmp_path / "inference")
    reference = sl.SAE.load_from_disk(str(tmp_path / "inference"))
    ours = load_sae(str(tmp_path / "checkpoint"))
    x = _inputs()
    with torch.no_grad():
        codes_ref = reference.encode(x)
        recon_ref = reference.decode(codes_ref)
    _compare(codes_ref, recon_ref, ours, x)
    assert ours.encoder_kind == "jumprelu"
    assert ours.meta.architecture == ("batchtopk" if kind == "batchtopk" else "matryoshka")


def _checkpoint_with_scaler(sl, tmp_path, factor: float):
    from sae_lens.training.activation_scaler import ActivationScaler

    trainer = _training_sae(sl, "topk", normalize_activations="expected_average_only_in")
    trainer.save_model(tmp_path)
    # what SAETrainer.save_trainer_state writes beside every checkpoint
    ActivationScaler(scaling_factor=factor).save(str(tmp_path / "activation_scaler.json"))
    return trainer, ActivationScaler(scaling_factor=factor)


def test_expected_average_only_in_reads_activation_scaler(sl, tmp_path):
    """The trainer scales inputs by the factor before the SAE and unscales its output."""
    trainer, scaler = _checkpoint_with_scaler(sl, tmp_path, factor=0.37)
    ours = load_sae(str(tmp_path))
    assert ours.meta.input_scale == pytest.approx(0.37)
    x = _inputs()
    with torch.no_grad():
        codes_ref = trainer.encode(scaler.scale(x))
        recon_ref = scaler.unscale(trainer.decode(codes_ref))
    _compare(codes_ref, recon_ref, ours, x)


def test_scaler_without_factor_is_refused(sl, tmp_path):
    _checkpoint_with_scaler(sl, tmp_path, factor=0.37)
    (tmp_path / "activation_scaler.json").write_text(json.dumps({"scaling_factor": None}))
    with pytest.raises(SaebenchError, match="activation_scaler.json"):
        load_sae(str(tmp_path))


def test_missing_scaler_names_the_file(sl, tmp_path):
    _checkpoint_with_scaler(sl, tmp_path, factor=0.37)
    (tmp_path / "activation_scaler.json").unlink()
    with pytest.raises(SaebenchError, match="activation_scaler.json"):
        load_sae(str(tmp_path))
