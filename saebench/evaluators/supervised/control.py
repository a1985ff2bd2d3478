"""Control: edit the activation of a base prompt towards a counterfactual attribute value.

For a pair (base ``p``, source ``p'``) that differ in some attributes:

* **supervised** edit: ``a - u(S, v_S(p)) + u(S, v_S(p'))`` for each changed set ``S``;
* **interpretation-aware** SAE edit: for each changed attribute, the ``n`` latents of best F1
  for the old value that are active on ``p`` are taken out (``- f_j(p) d_j``) and the ``n``
  of best F1 for the new value that are active on ``p'`` put in (``+ f_j(p') d_j``);
* **interpretation-agnostic** SAE edit: ``k`` latents chosen greedily, each step the one
  whose change ``(f_j(p') - f_j(p)) d_j`` most reduces ``|a + edit - a(p')|``.

An edit succeeds when the model's top answer after it equals its top answer with ``a(p')``
patched in (the counterfactual the node alone can carry). Its magnitude is the weight it
removes: latent ``j``'s weight in the reconstruction is ``w_j = f_j d_j . r / |r|^2`` with
``r = x_hat - b_dec`` (the weights sum to 1), and an edit that lowers ``f_j`` to ``f'_j``
removes ``w_j (f_j - f'_j) / f_j`` of it.

Example:
    >>> edited, removed = aware_edits(sae, a, codes, src_codes, changes, scores, [1, 2, 4, 8])
    >>> order = greedy_order(sae, a, a_src, codes, src_codes, 16)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from saebench.evaluators.supervised.interpretability import LatentScores, best_latents


def row_scale(sae, x: Tensor) -> Tensor:
    """Per row, the factor a code change is scaled by on its way to the raw activation
    (1 without input normalisation): decode is affine in the codes for a fixed input."""
    W = sae.W_dec.detach()
    j = int(W.norm(dim=1).argmax())
    zero = torch.zeros(len(x), sae.d_sae, dtype=W.dtype, device=W.device)
    one = zero.clone()
    one[:, j] = 1.0
    step = sae.decode(one, x) - sae.decode(zero, x)
    return (step.to(W.dtype) @ W[j]) / (W[j] @ W[j])


def decoded_change(sae, x: Tensor, before: Tensor, after: Tensor) -> Tensor:
    """The raw-activation change when the codes go from ``before`` to ``after`` ``[n, d]``."""
    return (sae.decode(after, x) - sae.decode(before, x)).to(x.dtype)


def latent_weights(sae, codes: Tensor) -> Tensor:
    """``w_j = f_j d_j . r / |r|^2`` with ``r = sum_j f_j d_j`` ``[n, d_sae]`` (rows sum to 1;
    any normalisation scale cancels)."""
    codes = codes.to(torch.float64)  # a share of a sum: accumulate in float64
    W = sae.W_dec.detach().to(codes.dtype)
    r = codes @ W
    return codes * (r @ W.T) / (r * r).sum(-1, keepdim=True).clamp_min(1e-30)


def aware_edits(
    sae,
    acts: Tensor,
    codes: Tensor,
    source_codes: Tensor,
    changes: Sequence[Sequence[tuple[int, int]]],
    scores: LatentScores,
    sizes: Sequence[int],
) -> dict[int, tuple[Tensor, Tensor]]:
    """Interpretation-aware edits at each size ``n``: ``{n: (edited acts, removed weight)}``.

    ``changes[r]`` lists, for pair ``r``, the (old value, new value) indices into the
    columns of ``scores`` of each changed attribute.
    """
    top = max(sizes)
    drops, adds = [], []
    for r, pairs in enumerate(changes):
        drops.append([best_latents(scores, old, top, codes[r] > 0) for old, _ in pairs])
        adds.append([best_latents(scores, new, top, source_codes[r] > 0) for _, new in pairs])
    weights = latent_weights(sae, codes)
    out = {}
    for n in sizes:
        drop = torch.zeros_like(codes, dtype=torch.bool)
        add = torch.zeros_like(codes, dtype=torch.bool)
        for r in range(len(changes)):
            for latents in drops[r]:
                drop[r, latents[:n]] = True
            for latents in adds[r]:
                add[r, latents[:n]] = True
        new = codes - codes * drop + source_codes * add
        removed = (weights * drop).sum(-1)
        out[n] = (acts + decoded_change(sae, acts, codes, new), removed)
    return out


def greedy_order(
    sae, acts: Tensor, source_acts: Tensor, codes: Tensor, source_codes: Tensor, k: int
) -> Tensor:
    """The latents chosen step by step for the interpretation-agnostic edit ``[n, k]``
    (-1 once no latent brings the activation closer to the counterfactual)."""
    W = sae.W_dec.detach().to(torch.float64)
    scale = row_scale(sae, acts).to(torch.float64)
    delta = (source_codes - codes).to(torch.float64) * scale[:, None]  # [n, d_sae]
    residual_dot = (source_acts - acts).to(torch.float64) @ W.T  # r . W_j
    norms = (W * W).sum(-1)
    usable = delta != 0
    order = torch.full((len(acts), k), -1, dtype=torch.long)
    rows = torch.arange(len(acts))
    for step in range(k):
        gain = 2 * delta * residual_dot - delta * delta * norms
        gain = torch.where(usable, gain, torch.full_like(gain, -torch.inf))
        best, j = gain.max(-1)
        go = best > 0
        if not bool(go.any()):
            break
        order[go, step] = j[go]
        usable[rows[go], j[go]] = False
        moved = (delta[rows, j] * go)[:, None] * (W[j] @ W.T)
        residual_dot -= moved
    return order


def agnostic_edits(
    sae, acts: Tensor, codes: Tensor, source_codes: Tensor, order: Tensor, sizes: Sequence[int]
) -> dict[int, tuple[Tensor, Tensor]]:
    """Interpretation-agnostic edits: the first ``k`` latents of ``order`` set to their
    source values, ``{k: (edited acts, removed weight)}``."""
    weights = latent_weights(sae, codes)
    lowered = torch.where(
        codes > 0, ((codes - source_codes) / codes.clamp_min(1e-30)).clamp(0, 1), 0.0
    )
    out = {}
    for k in sizes:
        chosen = torch.zeros_like(codes, dtype=torch.bool)
        picked = order[:, :k]
        rows = torch.arange(len(codes))[:, None].expand_as(picked)
        ok = picked >= 0
        chosen[rows[ok], picked[ok]] = True
        new = torch.where(chosen, source_codes, codes)
        removed = (weights * lowered * chosen).sum(-1)
        out[k] = (acts + decoded_change(sae, acts, codes, new), removed)
    return out


def accuracy(top: Tensor, target: Tensor) -> float | None:
    """Fraction of pairs whose top answer after the edit is the target answer."""
    return float((top == target).double().mean()) if len(target) else None
