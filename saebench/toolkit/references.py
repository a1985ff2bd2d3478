"""Reference dictionaries as ordinary SAEs of the protocol, built in closed form.

An evaluator measures a reference beside the SAEs through the same code path as an SAE:
``encode(x) -> codes``, ``decode(codes, x) -> x_hat``, ``meta``, ``d_sae``.

* :func:`neuron_basis`: the standard basis split by sign, codes ``[relu(x), relu(-x)]``
  (a ReLU SAE's view of the neurons; label ``neurons``);
  ``split=False`` gives the linear basis, codes ``x`` (label ``neurons_linear``);
* :func:`pca_basis`: the principal components, largest variance first, each with its
  largest entry positive, ``b_dec`` the mean; split by sign (label ``pca``) or, with
  ``split=False``, one linear code per component (label ``pca_linear``);
* :func:`random_dictionary`: random unit-norm rows with TopK coding, the floor a trained
  SAE must beat (label ``random``).

The bases reconstruct exactly: every direction is kept and the basis is orthonormal.

Example:
    >>> sae = pca_basis(acts, meta={"hook_name": "blocks.1.hook_resid_post"})
    >>> codes, x_hat = sae(acts)          # x_hat == acts up to rounding
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from saebench.sae import Sae, SaeMetadata, build_sae

Meta = Mapping[str, Any] | None


def as_sae(
    label: str,
    tensors: dict[str, Tensor],
    *,
    encoder: str,
    fields: Mapping[str, Any] | None = None,
    meta: Meta = None,
    where: str = "reference dictionary",
) -> Sae:
    """A frozen protocol SAE from canonical tensors (``meta``: hook and model fields;
    ``fields``: what the architecture adds, e.g. ``k``; ``where``: named in errors)."""
    given, fields = dict(meta or {}), dict(fields or {})
    extra = {**given.pop("extra", {}), **fields.pop("extra", {})}
    given.setdefault("hook_name", "activations")
    d_in, d_sae = tensors["W_enc"].shape
    info = SaeMetadata(architecture=label, d_in=d_in, d_sae=d_sae, extra=extra, **fields, **given)
    sae = build_sae(info, tensors, where=f"{where} ({label})", encoder=encoder)
    return sae.eval().requires_grad_(False)


def neuron_basis(acts: Tensor | int, *, meta: Meta = None, split: bool = True) -> Sae:
    """The standard basis as a dictionary; only the width of ``acts`` (or ``d_in`` itself)
    is read. Split (``d_sae = 2 d_in``): each coordinate's positive and negative part is a
    latent. Linear (``d_sae = d_in``): the coordinates themselves. Reconstructs exactly.

    Example:
        >>> sae = neuron_basis(acts)   # codes: relu(x), relu(-x)
    """
    d_in = acts if isinstance(acts, int) else acts.shape[1]
    eye, zero = torch.eye(d_in), torch.zeros(d_in)
    return _signed(eye, zero, "neurons", meta) if split else _linear(eye, zero, "neurons", meta)


def pca_basis(acts: Tensor, *, meta: Meta = None, split: bool = True) -> Sae:
    """The principal components of ``acts`` ``[n, d_in]`` as a dictionary, components in
    order of decreasing variance, ``b_dec`` the mean; split by sign (``d_sae = 2 d_in``) or
    linear (``d_sae = d_in``). Every component is kept, so it is exact even when n < d_in.

    Example:
        >>> sae = pca_basis(acts)
    """
    mean, P = principal_components(acts)
    return _signed(P, mean, "pca", meta) if split else _linear(P, mean, "pca", meta)


def principal_components(acts: Tensor) -> tuple[Tensor, Tensor]:
    """``(mean [d], P [d, d])``: the columns of ``P`` are the principal directions of
    ``acts``, largest variance first, each signed so that its largest entry is positive."""
    x = acts.double()
    mean = x.mean(0)
    # eigh of the covariance: an orthonormal basis even when n < d
    covariance = (x - mean).T @ (x - mean) / max(1, x.shape[0] - 1)
    _, vectors = torch.linalg.eigh(covariance)
    P = vectors.flip(-1)  # eigh sorts ascending
    # a deterministic sign per component (eigh's is arbitrary)
    signs = torch.sign(P.gather(0, P.abs().argmax(0, keepdim=True)))
    return mean, P * signs


def random_dictionary(
    acts: Tensor,
    *,
    d_sae: int,
    k: int,
    seed: int = 0,
    meta: Meta = None,
) -> Sae:
    """Random unit-norm decoder rows, encoder ``W_dec.T``, TopK coding with ``k`` and
    ``b_dec`` the mean of ``acts`` (label ``random``): the floor a trained SAE must beat.

    Example:
        >>> sae = random_dictionary(acts, d_sae=512, k=16)
    """
    gen = torch.Generator().manual_seed(seed)
    W_dec = torch.randn(d_sae, acts.shape[1], generator=gen)
    W_dec /= W_dec.norm(dim=1, keepdim=True)
    tensors = {
        "W_enc": W_dec.T.contiguous(),
        "b_enc": torch.zeros(d_sae),
        "W_dec": W_dec,
        "b_dec": acts.double().mean(0).float(),
    }
    fields = {"apply_b_dec_to_input": True, "k": k}
    return as_sae("random", tensors, encoder="topk", fields=fields, meta=meta)


def _signed(P: Tensor, mean: Tensor, label: str, meta: Meta) -> Sae:
    """Signed codes ``(x - mean) P`` written exactly in the ReLU protocol: latents ``i`` and
    ``d + i`` never both fire, and ``relu(c) - relu(-c) = c`` makes decoding exact when
    ``P`` is orthogonal."""
    tensors = {
        "W_enc": torch.cat([P, -P], dim=1),
        "b_enc": torch.zeros(2 * P.shape[1]),
        "W_dec": torch.cat([P.T, -P.T], dim=0),
        "b_dec": mean,
    }
    tensors = {name: t.float().contiguous() for name, t in tensors.items()}
    fields = {"apply_b_dec_to_input": True}
    return as_sae(label, tensors, encoder="relu", fields=fields, meta=meta)


def _linear(P: Tensor, mean: Tensor, label: str, meta: Meta) -> Sae:
    """Codes ``(x - mean) P``, decoded by ``codes P^T + mean``."""
    P = P.float()
    # W_dec is P^T as a view of P, so decoding runs the same matmul as ``codes @ P.T``
    tensors = {"W_enc": P, "b_enc": torch.zeros(P.shape[1]), "W_dec": P.T, "b_dec": mean.float()}
    fields = {"apply_b_dec_to_input": True}
    return as_sae(f"{label}_linear", tensors, encoder="linear", fields=fields, meta=meta)
