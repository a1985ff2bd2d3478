"""Half-precision SAEs compute in float32: a bf16 or fp16 copy of an SAE gives the numbers
of its float32 copy (up to the rounding of its weights), unless ``--sae-dtype`` asks for
half-precision arithmetic explicitly."""

from __future__ import annotations

import pytest
import torch

from saebench import load_sae
from saebench.adapters.saelens import save_saelens

# bf16 arithmetic moved this one by 0.17 % (mse) and 4 dead latents before the rule
SAE = "zoo:resid-jumprelu"


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """The zoo SAE saved in float32, bfloat16 and float16."""
    root = tmp_path_factory.mktemp("half")
    sae = load_sae(SAE)
    paths = {}
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        name = str(dtype).removeprefix("torch.")
        paths[name] = str(save_saelens(sae.to(dtype), root / name))
    return paths


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_file_computes_in_float32(copies, dtype):
    sae = load_sae(copies[dtype])
    assert sae.dtype == torch.float32
    x = torch.randn(4, 128, generator=torch.Generator().manual_seed(0))
    assert sae.encode(x).dtype == torch.float32


def test_explicit_dtype_is_kept(copies):
    sae = load_sae(copies["bfloat16"], dtype=torch.bfloat16)
    assert sae.dtype == torch.bfloat16


def _metrics(uri, sae_dtype=None):
    from saebench import evaluate

    records = evaluate(
        uri,
        model="zoo",
        dataset="zoo",
        evaluators=["reconstruction", "sparsity"],
        n_tokens=8192,
        sae_dtype=sae_dtype,
        configs={"reconstruction": {"downstream": False}},
        progress=False,
    )
    return {**records[0].metrics, **records[1].metrics}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_copy_matches_float32_copy(copies, dtype):
    reference = _metrics(copies["float32"])
    half = _metrics(copies[dtype])
    for key in ("mse", "explained_variance"):
        assert half[key] == pytest.approx(reference[key], rel=1e-3), key
    for key in ("dead_fraction", "dense_fraction"):  # within one latent of 512
        assert abs(half[key] - reference[key]) <= 1 / 512, key
