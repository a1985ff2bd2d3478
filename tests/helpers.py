"""Small real parts for tests: a word-level tokenizer, a tiny HookedTransformer, SAEs."""

from __future__ import annotations

import random
from pathlib import Path

import torch

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "bird",
    "sat",
    "ran",
    "flew",
    "on",
    "under",
    "over",
    "mat",
    "tree",
    "house",
    "red",
    "blue",
    "green",
    "small",
    "big",
    "and",
    "then",
    "it",
    "was",
    "very",
    "happy",
    "sad",
    "today",
    "yesterday",
    "in",
    "park",
    "city",
    "river",
    "near",
    "far",
]


def corpus(n_docs: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30))) for _ in range(n_docs)]


def make_tokenizer(directory: Path):
    """A word-level fast tokenizer saved to disk and loaded back (as TransformerLens needs)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(["<bos>", "<eos>", "<pad>", "<unk>", *WORDS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    fast.save_pretrained(str(directory))
    return PreTrainedTokenizerFast.from_pretrained(str(directory))


def make_model(directory: Path, n_layers: int = 2, d_model: int = 32, seed: int = 0):
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    tokenizer = make_tokenizer(directory)
    cfg = HookedTransformerConfig(
        n_layers=n_layers,
        d_model=d_model,
        n_ctx=64,
        d_head=8,
        n_heads=d_model // 8,
        d_mlp=4 * d_model,
        d_vocab=len(tokenizer),
        act_fn="gelu",
        normalization_type="LN",
        model_name="tiny-test",
        seed=seed,
        default_prepend_bos=True,
    )
    return HookedTransformer(cfg, tokenizer=tokenizer).eval()


def make_sae(
    architecture: str = "standard",
    d_in: int = 32,
    d_sae: int = 64,
    hook_name: str = "blocks.0.hook_resid_post",
    seed: int = 0,
    **meta_fields,
):
    """A random SAE with unit-norm decoder rows, built through the public protocol."""
    from saebench.sae import SaeMetadata, build_sae
    from saebench.sae.build import encoder_for

    gen = torch.Generator().manual_seed(seed)
    d_out = meta_fields.pop("d_out", None) or d_in
    W_dec = torch.randn(d_sae, d_out, generator=gen)
    W_dec = W_dec / W_dec.norm(dim=1, keepdim=True)
    tensors = {
        "W_enc": torch.randn(d_in, d_sae, generator=gen) / d_in**0.5,
        "b_enc": torch.randn(d_sae, generator=gen) * 0.1,
        "W_dec": W_dec,
        "b_dec": torch.randn(d_out, generator=gen) * 0.1,
    }
    kind = encoder_for(architecture, "test")
    if kind == "jumprelu":
        tensors["threshold"] = torch.rand(d_sae, generator=gen) * 0.2
    if kind == "gated":
        tensors["b_gate"] = tensors.pop("b_enc")
        tensors["b_mag"] = torch.randn(d_sae, generator=gen) * 0.1
        tensors["r_mag"] = torch.randn(d_sae, generator=gen) * 0.1
    meta = SaeMetadata(
        architecture=architecture,
        d_in=d_in,
        d_sae=d_sae,
        d_out=d_out if d_out != d_in else None,
        hook_name=hook_name,
        model_name="tiny-test",
        **meta_fields,
    )
    return build_sae(meta, tensors, where="test").eval().requires_grad_(False)


def canonical_tensors(d_in: int = 4, d_sae: int = 8) -> dict:
    """Tiny canonical SAE tensors (W_enc, b_enc, W_dec, b_dec) for hand-built files."""
    gen = torch.Generator().manual_seed(0)
    return {
        "W_enc": torch.randn(d_in, d_sae, generator=gen),
        "b_enc": torch.zeros(d_sae),
        "W_dec": torch.randn(d_sae, d_in, generator=gen),
        "b_dec": torch.zeros(d_in),
    }


def run_cli(argv, capsys):
    """(exit code, stdout, stderr) of ``saebench ARGV`` run in this process."""
    import pytest

    from saebench.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err
