"""The arithmetic of the output and input scores (Arad, Mueller and Belinkov 2025), on
tensors: no model, no SAE.

* **Output score** of a latent: with its logit-lens tokens ``T`` (the ``k`` tokens its
  decoder direction promotes most) and the next-token distribution ``p`` after amplifying
  it, ``(1 - r / V) * max_{t in T} p_t`` where ``r`` is the best (0-based) rank of a token of
  ``T`` in ``p`` and ``V`` the vocabulary size. The rank is the number of tokens with a
  strictly larger logit (ties count for the lens token).
* **Input score**: the share of a latent's top activating contexts whose peak token is
  among ``T``.

Example:
    >>> logits = torch.tensor([[0.0, 2.0, 1.0, -1.0]])
    >>> output_scores(logits, torch.tensor([[2, 3]]))   # token 2 ranks 1 of 4
    tensor([0.1777], dtype=torch.float64)
"""

from __future__ import annotations

import torch
from torch import Tensor


def token_ranks(logits: Tensor, tokens: Tensor) -> Tensor:
    """0-based rank of each of ``tokens [n, k]`` in its row of ``logits [n, V]``: how many
    tokens have a strictly larger logit."""
    picked = logits.gather(-1, tokens)  # [n, k]
    return (logits.unsqueeze(1) > picked.unsqueeze(-1)).sum(-1)


def output_scores(logits: Tensor, tokens: Tensor) -> Tensor:
    """The paper's output score of each row: ``logits [n, V]`` after the amplification,
    ``tokens [n, k]`` the latent's lens tokens; float64 ``[n]``."""
    logits = logits.double()
    vocab = logits.shape[-1]
    best_rank = token_ranks(logits, tokens).min(-1).values.double()
    best_prob = torch.softmax(logits, -1).gather(-1, tokens).max(-1).values
    return (1 - best_rank / vocab) * best_prob


def input_scores(peak_tokens: Tensor, lens_tokens: Tensor, min_examples: int) -> Tensor:
    """Share of each latent's top contexts whose peak token is a lens token: ``peak_tokens
    [n, m]`` (-1 where a latent has fewer than m contexts), ``lens_tokens [n, k]``; NaN for a
    latent with fewer than ``min_examples`` contexts. float64 ``[n]``."""
    present = peak_tokens >= 0
    hits = (peak_tokens.unsqueeze(-1) == lens_tokens.unsqueeze(1)).any(-1) & present
    counts = present.sum(-1)
    share = hits.sum(-1).double() / counts.clamp_min(1).double()
    return torch.where(counts >= min_examples, share, torch.full_like(share, float("nan")))


def lens_tokens(model, directions: Tensor, k: int) -> Tensor:
    """The ``k`` tokens each direction ``[n, d_model]`` promotes most: the model's final norm,
    then the unembedding without its bias (the paper's ``lm_head(norm(W_dec))``; its models
    have no unembedding bias, and a bias is the same for every direction). ``[n, k]`` on
    the CPU."""
    with torch.no_grad():
        normed = directions.to(model.W_U.device, model.W_U.dtype)
        if model.cfg.normalization_type is not None:
            normed = model.ln_final(normed.unsqueeze(0)).squeeze(0)
        logits = normed @ model.W_U
    return logits.topk(k, dim=-1).indices.cpu()
