"""Per-token CE loss and KL divergence from clean and edited logits."""

from __future__ import annotations

import torch
from torch import Tensor


def token_losses(logits: Tensor, tokens: Tensor) -> Tensor:
    """Next-token CE per position ``[batch, pos-1]`` (position t predicts token t+1)."""
    logprobs = logits[:, :-1].float().log_softmax(-1)
    return -logprobs.gather(-1, tokens[:, 1:, None]).squeeze(-1)


def token_kl(clean_logprobs: Tensor, logits: Tensor) -> Tensor:
    """KL(clean || edited) per position ``[batch, pos]``, in nats."""
    edited = logits.float().log_softmax(-1)
    return (clean_logprobs.exp() * (clean_logprobs - edited)).sum(-1)


def loss_positions(mask: Tensor) -> Tensor:
    """Where a next-token loss counts: both the input and the predicted token are real."""
    return mask[:, :-1] & mask[:, 1:]


def clean_logprobs(logits: Tensor) -> Tensor:
    return logits.float().log_softmax(-1)


@torch.no_grad()
def edited_losses(logits: Tensor, tokens: Tensor, clean_lp: Tensor) -> tuple[Tensor, Tensor]:
    """(CE per position, KL per position) of one edited run."""
    return token_losses(logits, tokens), token_kl(clean_lp, logits)
