"""Planted sentence embeddings with a known sparse dictionary, for the tests (no wheel)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from saebench.toolkit.references import as_sae


def planted(n_corpus=300, n_query=60, d=32, k=3, seed=0):
    """(x [n, d] unit rows, part [n] 0/1, the orthonormal dictionary [d, d]): each row is a
    positive combination of ``k`` dictionary rows, so a TopK-``k`` SAE on the dictionary
    codes every row exactly."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    n = n_corpus + n_query
    z = np.zeros((n, d))
    for row in z:
        row[rng.choice(d, size=k, replace=False)] = rng.uniform(0.5, 1.5, size=k)
    x = z @ basis.T
    scale = np.linalg.norm(x, axis=1, keepdims=True)
    part = np.r_[np.zeros(n_corpus, int), np.ones(n_query, int)]
    return (x / scale).astype(np.float32), part, basis.astype(np.float32)


def dictionary_sae(basis: np.ndarray, k: int):
    """A TopK SAE whose decoder rows are the planted dictionary (exact on planted rows)."""
    W_dec = torch.from_numpy(basis.T.copy())
    tensors = {"W_enc": W_dec.T.contiguous(), "b_enc": torch.zeros(len(W_dec)),
               "W_dec": W_dec, "b_dec": torch.zeros(W_dec.shape[1])}  # fmt: skip
    meta = {"hook_name": "pooled", "model_name": "planted"}
    return as_sae("topk", tensors, encoder="topk", fields={"k": k, "apply_b_dec_to_input": True},
                  meta=meta)  # fmt: skip


def batches(sae, x: np.ndarray, part: np.ndarray, size: int = 128):
    """What the shared pass hands an evaluator: SaeBatch-like rows of the SAE."""
    for start in range(0, len(x), size):
        xb = torch.from_numpy(x[start : start + size])
        with torch.inference_mode():
            codes = sae.encode(xb)
            x_hat = sae.decode(codes)
        tokens = torch.from_numpy(part[start : start + size])[:, None]
        yield SimpleNamespace(x=xb, target=xb, codes=codes, x_hat=x_hat, tokens=tokens,
                              mask=torch.ones_like(tokens, dtype=torch.bool))  # fmt: skip
