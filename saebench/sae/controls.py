"""Controls: degraded SAEs made from a trained one, to read its scores against.

A score means something only if the SAE beats what a dictionary with its sparsity but none
of its learning would get (Chanin 2026, an audit of SAEBench). Each control here keeps one
thing of the base SAE and destroys another; all are deterministic given a seed:

- ``permuted_decoder``: the base SAE's own codes, each latent writing another latent's
  decoder row (a fixed seeded cyclic permutation, so no latent keeps its own row);
- ``matched_l0_random``: a random dictionary of the same width whose code for each token
  keeps exactly as many latents as the base SAE activates on that token;
- ``random_init``: the same architecture freshly initialised, before any training.

They are made on the fly from a loaded SAE (:func:`make_control`) and named by URIs
(``control:KIND[@seed=N]:SAE_URI``, :mod:`saebench.adapters.control`). Definitions, and
the choices each makes, are in ``docs/controls.md``.

Example:
    >>> control = make_control(load_sae("zoo:resid-topk-16"), "permuted_decoder")
    >>> torch.equal(control.encode(x), base.encode(x))
    True
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from saebench.errors import SaebenchError
from saebench.identity import stable_hash
from saebench.sae.base import Sae

# Part of every control's weights hash: a change to what a kind computes must change it.
CONTROLS_VERSION = "1"


@dataclass(frozen=True)
class ControlInfo:
    """What a control SAE is: carried on the object as ``sae.control``."""

    kind: str
    of: str  # the base SAE's canonical URI
    seed: int
    base_weights_hash: str

    @property
    def weights_hash(self) -> str:
        """Its identity in record keys: the base's weights, the kind, the seed and the version
        of the definitions. It does not hash the random tensors, so it cannot change with
        how a torch release draws them."""
        return stable_hash(
            ["control", CONTROLS_VERSION, self.kind, self.seed, self.base_weights_hash]
        )


def make_control(sae: Sae, kind: str, seed: int = 0, of: str | None = None) -> Sae:
    """The control ``kind`` of ``sae`` (unchanged), made with ``seed``; ``of`` names the base.

    Example:
        >>> make_control(sae, "matched_l0_random", seed=1).control.kind
        'matched_l0_random'
    """
    from saebench.adapters.control_uri import control_uri
    from saebench.identity import sae_weights_hash

    if getattr(sae, "control", None) is not None:
        raise SaebenchError(
            f"{sae.meta.source or 'this SAE'} is already a control; make controls of the SAE itself"
        )
    if kind not in BUILDERS:
        raise SaebenchError(f"unknown control {kind!r}; controls: {', '.join(BUILDERS)}")
    generator = torch.Generator().manual_seed(seed)
    control = BUILDERS[kind](sae, generator)
    info = ControlInfo(kind, of or _source(sae), seed, sae_weights_hash(sae))
    control.control = info
    control.meta.source = None if info.of == "inline" else control_uri(kind, info.of, seed)
    # shown in the record's metadata, so a reader sees what the control is without the code
    control.meta.extra = {**control.meta.extra, "control": asdict(info)}
    return control.eval().requires_grad_(False)


# -- the kinds ------------------------------------------------------------------------------
def permuted_decoder(sae: Sae, generator: torch.Generator) -> Sae:
    """Same encoder (so the same codes), decoder rows permuted: latent ``i`` writes
    ``W_dec[order[i]]``. The permutation is one cycle through every latent (a random order,
    each latent taking the next one's row), so no latent keeps its own direction."""
    control = copy.deepcopy(sae)
    order = cyclic_permutation(sae.d_sae, generator).to(sae.device)
    control.W_dec.data = sae.W_dec.data[order].clone()
    return control


def random_init(sae: Sae, generator: torch.Generator) -> Sae:
    """The same architecture as freshly initialised: decoder rows random unit vectors, the
    encoder their transpose (tied init, as SAELens and dictionary_learning do; a transcoder
    draws its encoder's unit columns separately), encoder biases (and a gated SAE's
    magnitude path) zero, a skip connection zero. Kept from the base: ``b_dec`` (libraries
    initialise it at the data's mean or median, which the trained ``b_dec`` stands in for),
    ``k``, JumpReLU thresholds and the input normalisation."""
    control = copy.deepcopy(sae)
    w_dec = unit_rows(sae.d_sae, sae.d_out, generator)
    if sae.d_in == sae.d_out:
        w_enc = w_dec.T.clone()
    else:
        w_enc = unit_rows(sae.d_sae, sae.d_in, generator).T.contiguous()
    _assign(control, "W_dec", w_dec)
    _assign(control, "W_enc", w_enc)
    for name in ("b_enc", "b_mag", "r_mag", "W_skip"):
        if getattr(control, name, None) is not None:
            getattr(control, name).data.zero_()
    return control


def matched_l0_random(sae: Sae, generator: torch.Generator) -> Sae:
    if sae.meta.is_transcoder or sae.W_skip is not None:
        raise SaebenchError(
            f"{sae.meta.source or 'this SAE'}: matched_l0_random is defined for SAEs, not "
            "transcoders (their input and output spaces differ); use permuted_decoder or "
            "random_init for a transcoder"
        )
    directions = unit_rows(sae.d_sae, sae.d_in, generator)
    return MatchedL0RandomSae(sae, directions.to(device=sae.device, dtype=sae.dtype))


class MatchedL0RandomSae(Sae):
    """A random dictionary at the base SAE's L0, token for token.

    Its latents are ``d_sae`` random unit directions ``D`` (``W_dec = D``, ``W_enc = D.T``).
    For a token ``x`` (centred as ``c = x - b_dec``, ``b_dec`` the base's) it keeps the
    ``n`` latents with the largest projections ``c . d_i``, where ``n`` is the number of
    latents the base SAE activates on that token, so its L0 equals the base's per token,
    whatever the batch. The kept codes are the projections times one per-token scale
    ``s = (sum_i p_i^2) / |sum_i p_i d_i|^2``: the scale that best fits ``c`` along the
    reconstruction's own direction, a closed-form number rather than a least-squares fit over
    the latents. Without it the chosen directions, all leaning towards ``c``, add up to a
    multiple of it (1.6 x on average for the zoo's resid-topk-16, 16 of 512 latents in
    128 dimensions); with it the error
    never exceeds ``|c|^2``. Codes are signed only on a token where the base activates more
    latents than there are positive projections (L0 near half the width).
    """

    encoder_kind = "matched_l0_random"

    def __init__(self, base: Sae, directions: Tensor) -> None:
        meta = base.meta.model_copy(
            deep=True,
            update={"architecture": "matched_l0_random", "k": None, "apply_b_dec_to_input": True},
        )
        zeros = torch.zeros(directions.shape[0], dtype=directions.dtype, device=directions.device)
        super().__init__(meta, directions.T.clone(), zeros, directions, base.b_dec.detach().clone())
        self.base = copy.deepcopy(base)  # a submodule, moved and cast with this one

    def activate(self, pre: Tensor) -> Tensor:
        raise NotImplementedError("a matched-L0 random dictionary encodes through encode()")

    def encode(self, x: Tensor) -> Tensor:
        counts = torch.count_nonzero(self.base.encode(x), dim=-1)
        projections = self.pre_acts(self.normalize(x.to(self.dtype)))
        codes = keep_largest(projections, counts)
        fitted = codes @ self.W_dec
        num = codes.pow(2).sum(-1, keepdim=True)
        den = fitted.pow(2).sum(-1, keepdim=True)
        scale = torch.where(den > 0, num / den.clamp_min(torch.finfo(den.dtype).tiny), 0.0)
        return codes * scale


BUILDERS: dict[str, Callable[[Sae, torch.Generator], Sae]] = {
    "permuted_decoder": permuted_decoder,
    "matched_l0_random": matched_l0_random,
    "random_init": random_init,
}


# -- helpers --------------------------------------------------------------------------------
def _source(sae: Sae) -> str:
    """The canonical URI an SAE was loaded from, or ``inline``."""
    from saebench.adapters.names import canonical_uri

    try:
        return canonical_uri(sae.meta.source) if sae.meta.source else "inline"
    except SaebenchError:  # moved, or never a URI
        return "inline"


def keep_largest(values: Tensor, counts: Tensor) -> Tensor:
    """``values`` with only the ``counts[t]`` largest entries of each row ``t`` kept."""
    most = int(counts.max()) if counts.numel() else 0
    if most == 0:
        return torch.zeros_like(values)
    top, index = values.topk(most, dim=-1)  # sorted, largest first
    rank = torch.arange(most, device=values.device)
    kept = torch.where(rank < counts.unsqueeze(-1), top, torch.zeros_like(top))
    return torch.zeros_like(values).scatter_(-1, index, kept)


def cyclic_permutation(n: int, generator: torch.Generator) -> Tensor:
    """A random permutation made of one cycle through all ``n`` items (no fixed point when
    ``n > 1``): a random order, each item sent to the next one in it."""
    order = torch.randperm(n, generator=generator)
    result = torch.empty_like(order)
    result[order] = order.roll(-1)
    return result


def unit_rows(n: int, d: int, generator: torch.Generator) -> Tensor:
    """``n`` random unit vectors of ``d`` dimensions (Gaussian, normalised), drawn on CPU in
    float32 so they are the same on every device."""
    rows = torch.randn(n, d, generator=generator, dtype=torch.float32)
    return rows / rows.norm(dim=-1, keepdim=True)


def _assign(sae: Sae, name: str, value: Tensor) -> None:
    target = getattr(sae, name)
    target.data = value.to(device=target.device, dtype=target.dtype)
