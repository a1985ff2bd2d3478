"""The "dictionaries" RAVEL intervenes through, behind one small interface.

A featurizer maps an activation at the hook to coordinates and back: ``encode(x) -> codes``,
``decode(codes, x) -> x_hat``, ``meta`` (the hook it reads, as an SAE's metadata says it)
and ``d_sae`` (how many coordinates). :func:`saebench.models.edits.patch_latents` takes any
such object, so an SAE, the neuron basis, a PCA basis and a DAS rotation all go through the
same intervention code: at the base's entity token the coordinates chosen by a weight vector
come from the source and the rest from the base.

* an SAE is its own featurizer (codes = latents);
* the bases are reference dictionaries of :mod:`saebench.toolkit.references`, protocol SAEs
  at the SAE's input hook: :func:`split_neurons` (codes ``[relu(x), relu(-x)]``, the
  neuron basis split by sign as a ReLU SAE's latents are, the like-for-like baseline),
  :func:`linear_neurons` (codes = the activation itself) and :func:`target_pca` (coordinates
  in an orthonormal basis of the centred activations, every component kept, so
  decode(encode(x)) = x);
* :class:`DasFeaturizer` (trained here): codes = ``[R^T x, x - R R^T x]`` for a learned
  ``R`` with ``k`` orthonormal columns; swapping the first ``k`` coordinates gives DAS's
  ``h_b + R (R^T h_s - R^T h_b)``.

Example:
    >>> neurons = linear_neurons(sae.meta, d=128)
    >>> patch = patch_latents(neurons, base.last("entity"), source_x, weights=mask)
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import Tensor, nn

from saebench.sae import Sae
from saebench.toolkit.references import neuron_basis, pca_basis


def hook_view(meta) -> SimpleNamespace:
    """The part of an SAE's metadata an edit reads: where the featurizer sits."""
    return SimpleNamespace(
        hook_name=meta.hook_name,
        output_hook=meta.hook_name,  # references read and write the SAE's input hook
        hook_head_index=getattr(meta, "hook_head_index", None),
    )


def split_neurons(meta, d: int) -> Sae:
    """The neuron basis as a ReLU SAE would hold it: ``2d`` codes ``relu(+x_i)`` and
    ``relu(-x_i)``. A mask can take the positive part of a neuron from the source and keep
    its negative part from the base, as it can with an SAE's latents but not with the
    linear neuron basis."""
    return neuron_basis(d, meta=_site(meta))


def linear_neurons(meta, d: int) -> Sae:
    """The linear neuron basis: each coordinate of the activation is one "latent"."""
    return neuron_basis(d, meta=_site(meta), split=False)


def target_pca(meta, acts: Tensor) -> Sae:
    """Coordinates in the principal directions of some activations ``[n, d]``, largest
    variance first; all ``d`` directions are kept so the round trip is exact."""
    return pca_basis(acts, meta=_site(meta), split=False)


def _site(meta) -> dict:
    """A reference reads and writes the SAE's input hook (one head of it, if the SAE does)."""
    return {
        "hook_name": meta.hook_name,
        "hook_head_index": getattr(meta, "hook_head_index", None),
    }


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
