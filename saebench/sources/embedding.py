"""The embedding source: a sentence-embedding model's pooled embeddings of a corpus.

Each text is a context of one position at the site ``pooled`` (the model's mean-pooled,
L2-normalised embedding). The rows are the corpus's held-out parts in a fixed order, the
retrieval ``corpus`` part first and then its ``query`` part, never ``train`` (the zoo's SAEs
are trained on it); the one "token" of each context is its part's number (0 corpus,
1 query), so an evaluator tells queries from documents without knowing the split.
Embeddings come from the on-disk cache of :mod:`saebench.models.embedding_cache` (computed
once per model, corpus and part), so the shared pass's own cache is not used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from saebench.sources.base import ACTIVATIONS, EMBEDDINGS, ActivationSource, SourceBatch

if TYPE_CHECKING:
    from torch import Tensor

SITE = "pooled"  # the one site: the pooled sentence embedding
EVAL_PARTS = ("corpus", "query")  # streamed in this order; a row's token is its index here


@dataclass
class EmbeddingBatch(SourceBatch):
    x: Tensor | None = None  # [rows, d] the embeddings


class EmbeddingSource(ActivationSource):
    """The held-out parts of ``corpus`` embedded by ``model``, at most ``n_rows`` rows.

    Example:
        >>> source = EmbeddingSource(load_embedding_model("minilm-l6"), load_corpus("kjv"))
        >>> acts, _ = source.capture(next(source.batches(1024)), ["pooled"], False)
    """

    serves = frozenset({ACTIVATIONS, EMBEDDINGS})
    cacheable = False  # the embeddings have their own cache

    def __init__(self, model, corpus, device: str = "cpu", identity: dict | None = None,
                 cache_dir=None, progress: bool = False):  # fmt: skip
        self.model = model
        self.corpus = corpus
        self.device = device
        self.cache_dir = cache_dir
        self.progress = progress
        self._identity = identity
        self._rows: tuple[Tensor, Tensor] | None = None
        self.forwards = 0

    def identity(self) -> dict[str, Any]:
        if self._identity is None:
            self._identity = {**self.model.identity(), "corpus": self.corpus.spec(),
                              "fingerprint": self.corpus.fingerprint()}  # fmt: skip
        return self._identity

    def rows(self) -> tuple[Tensor, Tensor]:
        """(embeddings ``[n, d]``, part index ``[n]``) of the streamed rows, in order."""
        if self._rows is None:
            import torch

            from saebench.models.embedding_cache import part_embeddings

            xs = [part_embeddings(self.model, self.corpus, part, self.cache_dir, self.progress)
                  for part in EVAL_PARTS]  # fmt: skip
            parts = [torch.full((len(x),), i, dtype=torch.long) for i, x in enumerate(xs)]
            self._rows = torch.cat(xs), torch.cat(parts)
        return self._rows

    def batches(self, batch_size: int, label: str | None = None) -> Iterator[SourceBatch]:
        import torch

        x, part = self.rows()
        for index, start in enumerate(range(0, len(x), batch_size)):
            xb = x[start : start + batch_size].to(self.device)
            tokens = part[start : start + batch_size, None].to(self.device)
            mask = torch.ones_like(tokens, dtype=torch.bool)
            self.forwards += 1
            yield EmbeddingBatch(index, start, tokens, mask, None, xb)

    def capture(
        self, batch: SourceBatch, sites: Iterable[str], final_residual: bool
    ) -> tuple[dict[str, Tensor], Tensor | None]:
        unknown = sorted(set(sites) - {SITE})
        if unknown:  # planning checks SAEs' hooks first; this guards direct use
            raise KeyError(f"an embedding source has only the site {SITE!r}, not {unknown}")
        return {SITE: batch.x[:, None, :]}, None
