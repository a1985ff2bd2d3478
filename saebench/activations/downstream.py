"""Per-token CE loss and KL divergence from clean and edited logits.

The clean run's probabilities and negative entropy are computed once per batch and shared
by every edited run (the zero ablation and each SAE's splice), so an edited run costs one
log-softmax, one gather and one dot product per position.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


def loss_positions(mask: Tensor) -> Tensor:
    """Where a next-token loss counts: both the input and the predicted token are real."""
    return mask[:, :-1] & mask[:, 1:]


@dataclass
class CleanRun:
    """What every comparison with the clean run needs, computed once per batch."""

    targets: Tensor  # [batch, pos-1, 1] next-token ids
    probs: Tensor  # [batch, pos, vocab] clean probabilities (float32)
    neg_entropy: Tensor  # [batch, pos] sum_v p log p
    ce: Tensor  # [batch, pos-1] clean next-token CE

    @classmethod
    @torch.no_grad()
    def from_logits(cls, logits: Tensor, tokens: Tensor) -> CleanRun:
        logprobs = logits.float().log_softmax(-1)
        targets = tokens[:, 1:, None]
        probs = logprobs.exp()
        return cls(
            targets=targets,
            probs=probs,
            neg_entropy=torch.linalg.vecdot(probs, logprobs),
            ce=-logprobs[:, :-1].gather(-1, targets).squeeze(-1),
        )

    @torch.no_grad()
    def compare(self, logits: Tensor) -> tuple[Tensor, Tensor]:
        """(next-token CE ``[batch, pos-1]``, KL(clean || edited) ``[batch, pos]``) in nats."""
        logprobs = logits.float().log_softmax(-1)
        ce = -logprobs[:, :-1].gather(-1, self.targets).squeeze(-1)
        kl = self.neg_entropy - torch.linalg.vecdot(self.probs, logprobs)
        return ce, kl
