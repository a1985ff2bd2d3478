"""The meta-SAE of SAEBench's ``meta_structure`` (PR #87): a BatchTopK SAE trained on the
rows of a decoder, and the fraction of the rows' variance it explains.

The model follows SAELens's ``BatchTopKTrainingSAE`` as SAEBench configures it
(``rescale_acts_by_decoder_norm=True``, ``apply_b_dec_to_input=True``): pre-activations
``(w - b_dec) @ W_enc + b_enc`` are scaled by the meta-decoder's row norms, the ``k * n``
largest positive ones over a batch of ``n`` rows are kept, and the reconstruction is
``(acts / ||W_dec||) @ W_dec + b_dec``. Initialisation as SAELens: Kaiming-uniform decoder
rescaled to row norm 0.1, encoder its transpose, zero biases. Training: summed squared error
per row averaged over the batch, Adam (0.9, 0.999) at a constant rate, gradients clipped to
norm 1, batches of rows drawn uniformly with replacement. The TopK auxiliary loss is left
out: it only acts on latents dead for 2000 steps, more than SAEBench's 1500.

Example:
    >>> fve, mse = meta_sae_fve(rows, width=128, k=4, steps=1500, batch_size=1024,
    ...                         lr=5e-4, eval_batch_size=4096, seed=42)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class MetaSae(nn.Module):
    """A BatchTopK SAE over decoder rows (``d`` wide, ``width`` latents, ``k`` per row)."""

    def __init__(self, d: int, width: int, k: float, generator: torch.Generator) -> None:
        super().__init__()
        w_dec = torch.empty(width, d)
        nn.init.kaiming_uniform_(w_dec, generator=generator)
        w_dec = w_dec / w_dec.norm(dim=-1, keepdim=True) * 0.1
        self.W_dec = nn.Parameter(w_dec)
        self.W_enc = nn.Parameter(w_dec.T.clone().contiguous())
        self.b_enc = nn.Parameter(torch.zeros(width))
        self.b_dec = nn.Parameter(torch.zeros(d))
        self.k = k

    def forward(self, rows: Tensor) -> Tensor:
        norms = self.W_dec.norm(dim=-1)
        pre = ((rows - self.b_dec) @ self.W_enc + self.b_enc) * norms
        acts = pre.relu().flatten()
        keep = torch.topk(acts, int(self.k * rows.shape[0]))
        acts = torch.zeros_like(acts).scatter(-1, keep.indices, keep.values)
        acts = acts.reshape(rows.shape[0], -1)
        return (acts / norms) @ self.W_dec + self.b_dec


def train_meta_sae(
    rows: Tensor, *, width: int, k: float, steps: int, batch_size: int, lr: float, seed: int
) -> MetaSae:
    """A meta-SAE fitted to ``rows`` ``[n, d]`` (float32), reproducible from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    model = MetaSae(rows.shape[1], width, k, generator)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    for _ in range(steps):
        batch = rows[torch.randint(0, rows.shape[0], (batch_size,), generator=generator)]
        loss = (model(batch) - batch).pow(2).sum(-1).mean()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        optimiser.zero_grad()
    return model


@torch.no_grad()
def fraction_variance_explained(
    model: MetaSae, rows: Tensor, eval_batch_size: int
) -> tuple[float, float]:
    """``1 - sum ||w - w_hat||^2 / sum ||w - mean(w)||^2`` over all rows, and the MSE per
    entry; BatchTopK runs over consecutive chunks of ``eval_batch_size`` rows, as SAEBench
    evaluates it."""
    residual = 0.0
    centred = (rows - rows.mean(0, keepdim=True)).double().pow(2).sum().item()
    for start in range(0, rows.shape[0], eval_batch_size):
        batch = rows[start : start + eval_batch_size]
        residual += (batch - model(batch)).double().pow(2).sum().item()
    mse = residual / rows.numel()
    return (1.0 - residual / centred if centred > 0 else 0.0), mse


def meta_sae_fve(
    rows: Tensor,
    *,
    width: int,
    k: float,
    steps: int,
    batch_size: int,
    lr: float,
    eval_batch_size: int,
    seed: int,
) -> tuple[float, float]:
    """Train a meta-SAE on ``rows`` and return (fraction of variance explained, MSE)."""
    from saebench.toolkit.determinism import fixed_threads

    rows = rows.detach().float().cpu().contiguous()
    # one thread: the fitted model (and its score) then does not depend on the core count
    with fixed_threads(), torch.enable_grad():
        model = train_meta_sae(
            rows, width=width, k=k, steps=steps, batch_size=batch_size, lr=lr, seed=seed
        )
    return fraction_variance_explained(model, rows, eval_batch_size)


def meta_width(d_sae: int, ratio: float, k: float) -> int:
    """SAEBench's meta width: ``max(ceil(ratio * d_sae), k)``."""
    return max(math.ceil(d_sae * ratio), math.ceil(k))
