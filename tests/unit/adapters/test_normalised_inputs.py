"""Readers of a normalised site get what the next module really reads.

TransformerLens takes ``ln*.hook_normalized`` before the norm's gain and bias (in a model
loaded without weight processing, as saebench loads them); a Hugging Face module's input
(what sparsify and Gemma Scope transcoders read) includes them. ``ln*.hook_out`` is that
input: the norm's output, as TransformerLens 3 names it.
"""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from safetensors.torch import save_file

from saebench import load_sae
from saebench.adapters.sparsify import hooks_for_hookpoint
from saebench.models.hooks import require_hook


@pytest.fixture(scope="module")
def zoo():
    from saebench.models.load import load_model

    return load_model("zoo", device="cpu")


def test_norm_output_hook_is_what_the_mlp_reads(zoo):
    tokens = torch.randint(0, zoo.cfg.d_vocab, (2, 12), generator=torch.Generator().manual_seed(0))
    names = ["blocks.0.ln2.hook_normalized", "blocks.0.ln2.hook_out", "blocks.0.hook_mlp_out"]
    _, cache = zoo.run_with_cache(tokens, names_filter=names, stop_at_layer=1)
    ln2 = zoo.blocks[0].ln2
    normalised, mlp_in = cache[names[0]], cache[names[1]]
    torch.testing.assert_close(mlp_in, normalised * ln2.w + ln2.b)
    torch.testing.assert_close(zoo.blocks[0].mlp(mlp_in), cache[names[2]])
    assert not torch.allclose(normalised, mlp_in, atol=1e-2), "the zoo's gains are not 1"


def test_a_model_built_elsewhere_gets_the_hook_when_asked():
    from saebench.zoo.model import load_model

    model = load_model()
    require_hook(model, "blocks.1.ln1.hook_out")
    assert "blocks.1.ln1.hook_out" in model.hook_dict


def test_hooks_leave_the_model_output_unchanged(zoo):
    from saebench.zoo.model import load_model

    plain = load_model()
    tokens = torch.randint(0, zoo.cfg.d_vocab, (2, 12), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(zoo(tokens), plain(tokens))


@pytest.mark.parametrize(
    ("hookpoint", "expected"),
    [
        ("layers.4.mlp", ("blocks.4.ln2.hook_out", "blocks.4.hook_mlp_out")),
        ("model.layers.2.self_attn", ("blocks.2.ln1.hook_out", "blocks.2.hook_attn_out")),
    ],
)
def test_sparsify_transcoders_read_the_module_input(hookpoint, expected):
    assert hooks_for_hookpoint(hookpoint, transcode=True) == expected


def _sparsify_copy_of_zoo_transcoder(folder, model):
    """The zoo transcoder (trained on ln2.hook_normalized) rewritten for the MLP's real input
    ``u = w * n + b``: ``n = (u - b) / w``, so the same codes come from
    ``W' = W / w[:, None]`` and ``b_enc' = b_enc - (b / w) @ W``. Saved as sparsify does, as
    a TopK with k = d_sae (TopK of everything is the ReLU transcoder)."""
    zoo_tc = load_sae("zoo:transcoder-mlp")
    ln2 = model.blocks[0].ln2
    w, b = ln2.w.detach(), ln2.b.detach()
    W_enc = zoo_tc.W_enc / w[:, None]
    b_enc = zoo_tc.b_enc - (b / w) @ zoo_tc.W_enc
    folder.mkdir(parents=True)
    save_file(
        {
            "encoder.weight": W_enc.T.contiguous(),
            "encoder.bias": b_enc.contiguous(),
            "W_dec": zoo_tc.W_dec.contiguous(),
            "b_dec": zoo_tc.b_dec.contiguous(),
        },
        folder / "sae.safetensors",
    )
    cfg = {
        "activation": "topk",
        "num_latents": zoo_tc.d_sae,
        "k": zoo_tc.d_sae,
        "transcode": True,
        "skip_connection": False,
        "d_in": zoo_tc.d_in,
    }
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return str(folder)


def _fvu(uri) -> float:
    from saebench import evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (record,) = evaluate(
            uri,
            model="zoo",
            dataset="zoo",
            evaluators="reconstruction",
            n_tokens=4096,
            context_size=64,
            prepend_bos=True,
            separator="eos",
            configs={"reconstruction": {"downstream": False}},
            progress=False,
        )
    return record.metrics["fvu"]


def test_sparsify_transcoder_on_the_zoo_gets_its_true_input(tmp_path, zoo):
    folder = _sparsify_copy_of_zoo_transcoder(tmp_path / "layers.0.mlp", zoo)
    assert load_sae(folder).meta.hook_name == "blocks.0.ln2.hook_out"
    assert _fvu(folder) == pytest.approx(_fvu("zoo:transcoder-mlp"), rel=1e-4)
