"""Top activating contexts of chosen latents, kept while the shared pass streams.

For each latent of a fixed sample, :class:`TopContexts` keeps the ``n_top`` contexts where
its peak code is largest, each with the peak's position and token: one example per context,
as the paper's examples (Neuronpedia's top activations) are distinct texts. The order is
total (peak descending, then context index), and a context's peak is its first position
holding the largest code, so the result does not depend on how contexts are split into
batches. A latent is "active" where its code is positive (a PCA or random dictionary's
negative codes count as inactive); firing counts are kept for the sampled latents.

Example:
    >>> top = TopContexts(torch.tensor([3, 40]), n_top=100)
    >>> for batch in batches:                       # SaeBatch of the shared pass
    ...     top.add(batch.codes, *batch.row_places(), batch.tokens, batch.context_start)
    >>> top.tokens[0]                               # peak tokens of latent 3, -1 past the end
"""

from __future__ import annotations

import torch
from torch import Tensor


class TopContexts:
    """Per latent, the best ``n_top`` (peak, context, position, token); see the module."""

    def __init__(self, latents: Tensor, n_top: int) -> None:
        self.latents = latents.to(torch.long).cpu()
        n = len(self.latents)
        self.value = torch.full((n, n_top), float("-inf"), dtype=torch.float64)
        self.context = torch.zeros(n, n_top, dtype=torch.long)
        self.position = torch.zeros(n, n_top, dtype=torch.long)
        self.token = torch.full((n, n_top), -1, dtype=torch.long)
        self.fired = torch.zeros(n, dtype=torch.long)  # tokens with a positive code, per latent
        self.n_tokens = 0

    def add(
        self, codes: Tensor, contexts: Tensor, positions: Tensor, tokens: Tensor, first: int
    ) -> None:
        """Code rows ``codes [n, d_sae]`` at ``(contexts, positions)``; ``tokens [batch, pos]``
        are the batch's token ids, whose row 0 is context ``first``."""
        if codes.shape[0] == 0:
            return
        self.n_tokens += codes.shape[0]
        chosen = codes[:, self.latents.to(codes.device)].float().cpu()
        self.fired += (chosen > 0).sum(0)
        contexts, positions = contexts.cpu(), positions.cpu()
        ids, local = torch.unique(contexts, return_inverse=True)
        peak, where = _peaks(chosen, local, positions, len(ids))
        token = tokens.cpu()[ids.unsqueeze(1) - first, where]  # [ctx, latent]
        self._merge(peak.T.double(), ids.unsqueeze(0).expand_as(peak.T), where.T, token.T)

    def _merge(self, value: Tensor, context: Tensor, position: Tensor, token: Tensor) -> None:
        value = torch.where(value > 0, value, torch.full_like(value, float("-inf")))
        value = torch.cat([self.value, value], dim=1)
        context = torch.cat([self.context, context], dim=1)
        # the total order: context ascending, then (stable) value descending
        order = torch.argsort(context, dim=1, stable=True)
        order = order.gather(1, torch.argsort(-value.gather(1, order), dim=1, stable=True))
        keep = order[:, : self.value.shape[1]]
        self.value = value.gather(1, keep)
        self.context = context.gather(1, keep)
        self.position = torch.cat([self.position, position], dim=1).gather(1, keep)
        token = torch.cat([self.token, token], dim=1).gather(1, keep)
        self.token = torch.where(self.value > float("-inf"), token, torch.full_like(token, -1))

    @property
    def tokens(self) -> Tensor:
        """Peak token of each kept context ``[latents, n_top]``, -1 where none is kept."""
        return self.token


def _peaks(chosen: Tensor, local: Tensor, positions: Tensor, n_ctx: int):
    """Each (context, latent)'s largest positive code ``[ctx, latents]`` (0 when none) and
    the first position holding it."""
    n_lat = chosen.shape[1]
    index = local.unsqueeze(1).expand(-1, n_lat)
    peak = torch.zeros(n_ctx, n_lat, dtype=chosen.dtype)
    peak = peak.scatter_reduce(0, index, chosen.clamp_min(0), "amax", include_self=True)
    at_peak = (chosen == peak[local]) & (chosen > 0)
    beyond = int(positions.max()) + 1
    candidate = torch.where(at_peak, positions.unsqueeze(1), torch.full_like(index, beyond))
    where = torch.full((n_ctx, n_lat), beyond, dtype=torch.long)
    where = where.scatter_reduce(0, index, candidate, "amin", include_self=True)
    return peak, where.clamp_max(beyond - 1)
