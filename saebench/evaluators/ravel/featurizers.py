"""The "dictionaries" RAVEL intervenes through, behind one small interface.

A featurizer maps an activation at the hook to coordinates and back: ``encode(x) -> codes``,
``decode(codes, x) -> x_hat``, ``meta`` (the hook it reads, as an SAE's metadata says it)
and ``d_sae`` (how many coordinates). :func:`saebench.models.edits.patch_latents` takes any
such object, so an SAE, the neuron basis, a PCA basis and a DAS rotation all go through the
same intervention code: at the base's entity token the coordinates chosen by a weight vector
come from the source and the rest from the base.

* an SAE is its own featurizer (codes = latents);
* :class:`SplitNeuronFeaturizer`: codes = ``[relu(x), relu(-x)]``, the neuron basis split
  by sign as a ReLU SAE's latents are (the like-for-like baseline of an SAE);
* :class:`IdentityFeaturizer`: codes = the activation itself (the linear neuron basis);
* :class:`PcaFeaturizer`: codes = coordinates in an orthonormal basis of the centred
  activations (every component kept, so decode(encode(x)) = x);
* :class:`DasFeaturizer`: codes = ``[R^T x, x - R R^T x]`` for a learned ``R`` with ``k``
  orthonormal columns; swapping the first ``k`` coordinates gives DAS's
  ``h_b + R (R^T h_s - R^T h_b)``.

Example:
    >>> neurons = IdentityFeaturizer(sae.meta, d=128)
    >>> patch = patch_latents(neurons, base.last("entity"), source_x, weights=mask)
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import Tensor, nn


def hook_view(meta) -> SimpleNamespace:
    """The part of an SAE's metadata an edit reads: where the featurizer sits."""
    return SimpleNamespace(
        hook_name=meta.hook_name,
        output_hook=meta.hook_name,  # references read and write the SAE's input hook
        hook_head_index=getattr(meta, "hook_head_index", None),
    )


class IdentityFeaturizer(nn.Module):
    """The neuron basis: each coordinate of the activation is one "latent"."""

    def __init__(self, meta, d: int) -> None:
        super().__init__()
        self.meta = hook_view(meta)
        self.d_sae = d

    def encode(self, x: Tensor) -> Tensor:
        return x

    def decode(self, codes: Tensor, x: Tensor | None = None) -> Tensor:
        return codes


class SplitNeuronFeaturizer(nn.Module):
    """The neuron basis as a ReLU SAE would hold it: ``2d`` codes ``relu(+x_i)`` and
    ``relu(-x_i)``, decoded exactly by ``codes[:d] - codes[d:]``. A mask can take the
    positive part of a neuron from the source and keep its negative part from the base, as
    it can with an SAE's latents but not with the linear neuron basis."""

    def __init__(self, meta, d: int) -> None:
        super().__init__()
        self.meta = hook_view(meta)
        self.d, self.d_sae = d, 2 * d

    def encode(self, x: Tensor) -> Tensor:
        return torch.cat([torch.relu(x), torch.relu(-x)], dim=-1)

    def decode(self, codes: Tensor, x: Tensor | None = None) -> Tensor:
        return codes[..., : self.d] - codes[..., self.d :]


class PcaFeaturizer(nn.Module):
    """Coordinates in the principal directions of some activations ``[n, d]``, largest
    variance first; all ``d`` directions are kept so the round trip is exact."""

    def __init__(self, meta, acts: Tensor) -> None:
        super().__init__()
        self.meta = hook_view(meta)
        data = acts.double()
        mean = data.mean(0)
        # eigh of the covariance: an orthonormal basis even when n < d
        cov = (data - mean).T @ (data - mean) / max(len(data) - 1, 1)
        eigvals, eigvecs = torch.linalg.eigh(cov)
        order = eigvals.argsort(descending=True)
        self.register_buffer("mean", mean.to(acts.dtype))
        self.register_buffer("basis", eigvecs[:, order].to(acts.dtype))  # [d, d] columns
        self.register_buffer("variance", eigvals[order].clamp_min(0).to(acts.dtype))
        self.d_sae = acts.shape[1]

    def encode(self, x: Tensor) -> Tensor:
        return (x.to(self.basis.dtype) - self.mean) @ self.basis

    def decode(self, codes: Tensor, x: Tensor | None = None) -> Tensor:
        return codes @ self.basis.T + self.mean


class DasFeaturizer(nn.Module):
    """A learned ``k``-dimensional orthonormal subspace ``R`` ``[d, k]`` and the rest:
    codes ``[R^T x (k), x - R R^T x (d)]``. Patch with :meth:`swap_weights` to exchange the
    subspace only. ``R`` is the Q factor of a free matrix (signs fixed by R's diagonal):
    PyTorch's orthogonal parametrisation of a non-square matrix goes through
    ``householder_product``, whose gradient differs from one run to the next (torch 2.13
    on CPU), so a DAS trained with it was not reproducible."""

    def __init__(self, meta, d: int, k: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not 1 <= k <= d:
            raise ValueError(f"a DAS subspace needs 1 <= k <= d={d}, got k={k}")
        self.meta = hook_view(meta)
        self.d, self.k, self.d_sae = d, k, k + d
        # seeded start, so the skyline does not hang on torch's global RNG
        self.free = nn.Parameter(torch.randn(d, k, generator=generator) / d**0.5)

    @property
    def rotation(self) -> Tensor:
        """``R`` ``[d, k]`` with orthonormal columns."""
        q, r = torch.linalg.qr(self.free)
        signs = torch.sign(torch.diagonal(r))
        return q * torch.where(signs == 0, torch.ones_like(signs), signs)

    def encode(self, x: Tensor) -> Tensor:
        r = self.rotation
        inside = x.to(r.dtype) @ r
        return torch.cat([inside, x.to(r.dtype) - inside @ r.T], dim=-1)

    def decode(self, codes: Tensor, x: Tensor | None = None) -> Tensor:
        return codes[..., : self.k] @ self.rotation.T + codes[..., self.k :]

    def swap_weights(self) -> Tensor:
        """The bool weights that take the subspace from the source, the rest from the base."""
        w = torch.zeros(self.d_sae, dtype=torch.bool, device=self.free.device)
        w[: self.k] = True
        return w
