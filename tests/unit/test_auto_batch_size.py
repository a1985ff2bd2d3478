"""The automatic batch size on CPU: which batch the rule picks for the shapes it was measured
on (benchmarks/core_throughput.py, benchmarks/README.md)."""

from types import SimpleNamespace

import torch

from saebench.run.group import auto_batch_size


def _model(d_model, d_mlp, n_heads, block_params):
    """A stand-in with the config fields the rule reads and one block of ``block_params``
    float32 weights."""
    block = torch.nn.Module()
    block.weight = torch.nn.Parameter(torch.zeros(block_params), requires_grad=False)
    cfg = SimpleNamespace(d_model=d_model, d_mlp=d_mlp, n_heads=n_heads)
    return SimpleNamespace(cfg=cfg, blocks=[block])


def _slots(*widths, d_out):
    return [
        SimpleNamespace(sae=SimpleNamespace(d_sae=w, d_out=d_out), downstream=True) for w in widths
    ]


def _tokens(ctx):
    return SimpleNamespace(context_size=ctx)


# SmolLM2-135M's block as TransformerLens holds it, by hand: q and o 576 x 576, k and v
# 576 x 192 (3 key-value heads of 64), a gated MLP of three 576 x 1,536 matrices, two RMS
# norm scales of 576, and zero biases (q, o: 576; k, v: 192; MLP in 1,536, out 576).
SMOLLM2_BLOCK = 2 * 576 * 576 + 2 * 576 * 192 + 3 * 576 * 1536 + 2 * 576 + 3648
SMOLLM2 = _model(576, 1536, 9, SMOLLM2_BLOCK)


def test_smollm2_gets_batches_of_several_contexts():
    # Measured: SmolLM2's floor falls from 15.9 CPU s at batch 1 to 8.2 at batch 8 (1,024
    # tokens); the old rule's 4 MiB cap on the widest tensor gave batch 1 for 4,608-wide SAEs.
    # A budget of one block's weights (14.2 MB) gives 6, and 12 for the shipped 2,304-wide SAEs.
    assert SMOLLM2_BLOCK * 4 == 14_174_976  # the loaded model's, measured
    assert auto_batch_size(SMOLLM2, _slots(4608, d_out=576), _tokens(128), "cpu") == 6
    assert auto_batch_size(SMOLLM2, _slots(2304, 4608, d_out=576), _tokens(128), "cpu") == 6
    assert auto_batch_size(SMOLLM2, _slots(2304, d_out=576), _tokens(128), "cpu") == 12


def test_small_models_keep_the_cache_sized_batch():
    # The synthetic benchmark model (d_model 128, d_mlp 512, 4 heads, 8x SAEs, 128-token
    # contexts) measured fastest at batch 8; the zoo model (64-token contexts, 512-wide SAEs)
    # gets 32. Their blocks (~0.2M weights) are far below the 4 MiB cache budget.
    synthetic = _model(128, 512, 4, 4 * 128 * 128 + 2 * 128 * 512)
    assert auto_batch_size(synthetic, _slots(1024, d_out=128), _tokens(128), "cpu") == 8
    zoo = _model(128, 512, 4, 4 * 128 * 128 + 2 * 128 * 512)
    assert auto_batch_size(zoo, _slots(512, 256, d_out=128), _tokens(64), "cpu") == 32


def test_the_cap_holds():
    tiny = _model(16, 64, 1, 16 * 64)
    assert auto_batch_size(tiny, _slots(64, d_out=16), _tokens(16), "cpu") == 64
