"""Per-token norms of the quasi-orthogonality paper (Lee et al. 2025, arXiv 2503.24277):
the norm of what the decoder must produce against the norm of the decoder-scaled codes.

For one token with codes ``f`` (``h = d_sae`` latents):

* ``z`` = the reconstruction target in the decoder's own space: the SAE input after the
  SAE's input normalisation (what ``f @ W_dec + b_dec`` approximates); for a transcoder the
  output activation it writes, likewise normalised, minus the skip path ``W_skip`` if any;
* ``f~ = [f_1 ||W_dec,1||, ..., f_h ||W_dec,h||, ||b_dec||]`` (the decoder bias counted as
  one always-on unit feature, as in the paper's code), so
  ``||f~||^2 = sum_i f_i^2 ||W_dec,i||^2 + ||b_dec||^2``;
* ``eps_LBO = | ||z||^2 - ||f~||^2 | / ((h - 1) ||f~||^2)``: the smallest ``eps`` for which
  an eps-quasi-orthogonal dictionary could produce ``z`` from these codes, since
  ``| ||z||^2 - ||f~||^2 | <= eps (h - 1) ||f~||^2`` then.

Tokens with ``||f~|| = 0`` (no active latent and no bias) have no ``eps_LBO``; they are
counted apart. The ZF plot is ``||z||`` (x) against ``||f~||`` (y): above ``y = x`` the codes
are over-activated, below under-activated.

Example:
    >>> norms = TokenNorms(sae)
    >>> norms.add(batch)          # every batch of the shared pass
    >>> z, f, contexts = norms.arrays()
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import Tensor

_EPS = 1e-5  # the SAE module's layer-norm epsilon (saebench.sae.base)


def decoder_space_target(sae, x: Tensor, target: Tensor) -> Tensor:
    """The target ``y`` in the space of ``codes @ W_dec + b_dec``: ``Sae.decode``'s
    denormalisation undone with the statistics of ``x``, then the skip path removed."""
    meta = sae.meta
    scale = meta.input_scale or 1.0
    xs, y = x.float() * scale, target.float() * scale
    mode = meta.normalize_activations
    if mode == "layer_norm":
        std = (xs - xs.mean(-1, keepdim=True)).std(-1, keepdim=True)
        # an SAE normalises its input with the epsilon; decode undoes it without
        y = (y - xs.mean(-1, keepdim=True)) / (std + (0.0 if meta.is_transcoder else _EPS))
    elif mode == "constant_norm_rescale":
        y = y * (xs.shape[-1] ** 0.5 / xs.norm(dim=-1, keepdim=True).clamp_min(_EPS))
    if sae.W_skip is not None:
        skip = sae.normalize(x.to(sae.dtype)).float() @ sae.W_skip.detach().float().T
        y = y - skip
    return y


class TokenNorms:
    """``||z||`` and ``||f~||`` of every streamed token, with the context it came from."""

    def __init__(self, sae) -> None:
        self.sae = sae
        self.h = int(sae.d_sae)
        self.dec_sq = sae.W_dec.detach().float().pow(2).sum(-1)  # [h]
        self.bias_sq = float(sae.b_dec.detach().float().pow(2).sum())
        self._z: list[np.ndarray] = []
        self._f: list[np.ndarray] = []
        self._contexts: list[np.ndarray] = []
        self.seconds = 0.0  # CPU seconds spent in add

    @torch.no_grad()
    def add(self, batch) -> None:
        began = time.process_time()
        z = decoder_space_target(self.sae, batch.x, batch.target)
        z_sq = z.double().pow(2).sum(-1)
        codes = batch.codes.float()
        f_sq = codes.pow(2) @ self.dec_sq.to(codes.device) + self.bias_sq
        self._z.append(z_sq.sqrt().cpu().numpy())
        self._f.append(f_sq.double().clamp_min(0).sqrt().cpu().numpy())
        self._contexts.append(batch.row_places()[0].cpu().numpy())
        self.seconds += time.process_time() - began

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(``||z||``, ``||f~||``, context index) of every token, float64 / int64."""
        if not self._z:
            return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
        return (
            np.concatenate(self._z).astype(np.float64),
            np.concatenate(self._f).astype(np.float64),
            np.concatenate(self._contexts).astype(np.int64),
        )


def eps_lbo(z_norm: np.ndarray, f_norm: np.ndarray, h: int) -> np.ndarray:
    """``eps_LBO`` per token (NaN where ``||f~|| = 0``)."""
    z_sq, f_sq = z_norm**2, f_norm**2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.abs(z_sq - f_sq) / (max(h - 1, 1) * f_sq)
    return np.where(f_sq > 0, out, np.nan)
