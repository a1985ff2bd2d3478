"""The on-disk cache of a corpus part's embeddings, one float32 ``.npy`` per part.

Files live under ``$SAEBENCH_CACHE/embeddings`` (else ``~/.cache/saebench/embeddings``),
named by the model's name and weights hash, the corpus's name and the part's fingerprint
(its ids and texts): another model, another sample or an edited text is another file.

Example:
    >>> x = part_embeddings(load_embedding_model("minilm-l6"), load_corpus("kjv"), "query")
    >>> x.shape
    torch.Size([1638, 384])
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

    from saebench.models.embedding import EmbeddingModel
    from saebench.models.embedding_corpus import Corpus

# Texts per forward: the throughput measured for MiniLM on 2 CPU threads levels off here.
BATCH_SIZE = 64


def cache_file(
    model: EmbeddingModel, corpus: Corpus, part: str, cache_dir=None, rows: int | None = None
) -> Path:
    from saebench.synthetic.cache import cache_root

    folder = cache_root(cache_dir) / "embeddings" / f"{model.name}-{model.weights_hash[:16]}"
    fingerprint = corpus.fingerprint(part, rows)[:16]
    name = part if rows is None else f"{part}{rows}"
    return folder / f"{corpus.name}-{name}-{fingerprint}.npy"


def part_embeddings(model: EmbeddingModel, corpus: Corpus, part: str, cache_dir=None,
                    progress: bool = False, rows: int | None = None) -> Tensor:  # fmt: skip
    """The embeddings ``[rows, d]`` of the part (its first ``rows`` texts, when given): read
    from the cache, else computed and stored."""
    import numpy as np
    import torch

    path = cache_file(model, corpus, part, cache_dir, rows)
    if path.is_file():
        return torch.from_numpy(np.load(path))
    texts = corpus.texts(part)[:rows]
    x = model.encode(texts, batch_size=BATCH_SIZE, progress=progress)
    _save(path, x.numpy())
    return x


def _save(path: Path, array) -> None:
    """Written beside the target then renamed, so a reader never sees half a file."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
