"""Small CPU trainers for the zoo's sparse dictionaries, one shared loop for all of them.

Each ``train_*`` function takes a tensor of activations ``[n, d_in]`` (and, for transcoders,
targets ``[n, d_out]``) and returns a saebench :class:`~saebench.sae.Sae` built through
:func:`~saebench.sae.build_sae`, ready for :func:`~saebench.adapters.saelens.save_saelens`.

Architectures differ only in how pre-activations become codes and in the loss; each is a
small ``_Trainable`` subclass, and :func:`fit` runs the same loop for all of them: Adam with
a linear warm-up and a linear decay at the end, random batches drawn from the activations,
a fixed number of training tokens, decoder rows kept at unit norm. Inputs (and targets) are
scaled to mean squared centred norm ``d`` during training; the scale is folded back into
the saved weights, so the result works on raw activations.

The neuron basis, PCA and a random dictionary, built in closed form, are in
:mod:`saebench.toolkit.references`.

Example:
    >>> acts = torch.randn(10_000, 64)
    >>> sae = train_topk(acts, k=8, d_sae=256, meta={"hook_name": "blocks.0.hook_resid_post"})
    >>> codes, x_hat = sae(acts[:4])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from saebench.sae import Sae
from saebench.toolkit.references import as_sae

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the shared loop.

    The learning rate warms up linearly over ``warmup_fraction`` of the steps, stays flat,
    then decays linearly to zero over the last ``decay_fraction``. Sparsity penalties (L1,
    L0) ramp up linearly over ``sparsity_warmup_fraction``. A latent counts as dead for the
    AuxK loss when it has not fired for ``dead_after_tokens`` training tokens.
    """

    n_tokens: int = 1_000_000
    batch_size: int = 1024
    lr: float = 3e-3
    warmup_fraction: float = 0.02
    decay_fraction: float = 0.2
    sparsity_warmup_fraction: float = 0.1
    dead_after_tokens: int = 100_000
    normalize: bool = True
    seed: int = 0
    log_every: int | None = None

    @property
    def steps(self) -> int:
        return max(1, self.n_tokens // self.batch_size)

    def lr_factor(self, step: int) -> float:
        steps = self.steps
        warmup = max(1, round(self.warmup_fraction * steps))
        decay = max(1, round(self.decay_fraction * steps))
        if step < warmup:
            return (step + 1) / warmup
        return min(1.0, (steps - step) / decay)

    def sparsity_factor(self, step: int) -> float:
        ramp = round(self.sparsity_warmup_fraction * self.steps)
        return 1.0 if ramp == 0 else min(1.0, (step + 1) / ramp)


@dataclass(frozen=True)
class _Step:
    index: int
    sparsity: float  # multiplier of the sparsity penalty (warm-up)


# -- straight-through estimators of JumpReLU (Rajamanoharan et al. 2024b) --------------------
def _rectangle(u: Tensor) -> Tensor:
    return ((u > -0.5) & (u < 0.5)).to(u.dtype)


class _JumpReluFn(torch.autograd.Function):
    """``pre * 1[pre > theta]``; the threshold gets the rectangle-kernel pseudo-derivative
    ``-(theta / eps) K((pre - theta) / eps)``."""

    @staticmethod
    def forward(ctx, pre: Tensor, theta: Tensor, bandwidth: float) -> Tensor:
        ctx.save_for_backward(pre, theta)
        ctx.bandwidth = bandwidth
        return pre * (pre > theta)

    @staticmethod
    def backward(ctx, grad: Tensor):
        pre, theta = ctx.saved_tensors
        eps = ctx.bandwidth
        grad_pre = grad * (pre > theta)
        grad_theta = -(theta / eps) * _rectangle((pre - theta) / eps) * grad
        return grad_pre, grad_theta.sum(0), None


class _StepFn(torch.autograd.Function):
    """``1[pre > theta]``; no gradient to ``pre``, ``-(1 / eps) K((pre - theta) / eps)`` to
    the threshold."""

    @staticmethod
    def forward(ctx, pre: Tensor, theta: Tensor, bandwidth: float) -> Tensor:
        ctx.save_for_backward(pre, theta)
        ctx.bandwidth = bandwidth
        return (pre > theta).to(pre.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        pre, theta = ctx.saved_tensors
        eps = ctx.bandwidth
        grad_theta = -(1.0 / eps) * _rectangle((pre - theta) / eps) * grad
        return None, grad_theta.sum(0), None


# -- the architectures: weights, codes and loss, all in the normalised space -----------------
class _Trainable(nn.Module):
    """A dictionary under training: the weights and parts every architecture shares.

    Subclasses set ``label`` (the architecture label of the saved metadata) and ``encoder``
    (the protocol's inference encoder) and implement ``loss``.
    """

    label = "relu"
    encoder = "relu"

    def __init__(self, d_in: int, d_sae: int, y_mean: Tensor, transcoder: bool, gen) -> None:
        super().__init__()
        d_out = y_mean.shape[0]
        W_dec = torch.randn(d_sae, d_out, generator=gen)
        W_dec /= W_dec.norm(dim=1, keepdim=True)
        # tied initialisation where input and output share a space
        W_enc = torch.randn(d_in, d_sae, generator=gen) / d_in**0.5 if transcoder else W_dec.T
        self.W_enc = nn.Parameter(W_enc.clone().contiguous())
        self.b_enc = nn.Parameter(torch.zeros(d_sae))
        self.W_dec = nn.Parameter(W_dec)
        self.b_dec = nn.Parameter(y_mean.clone())
        self.apply_b_dec_to_input = not transcoder
        self.variance = float(d_out)  # E||y - mean||^2; fit sets the measured value

    @property
    def d_sae(self) -> int:
        return self.W_dec.shape[0]

    def pre_acts(self, x: Tensor) -> Tensor:
        if self.apply_b_dec_to_input:
            x = x - self.b_dec
        return x @ self.W_enc + self.b_enc

    def decode(self, codes: Tensor) -> Tensor:
        return codes @ self.W_dec + self.b_dec

    def recon_loss(self, y_hat: Tensor, y: Tensor) -> Tensor:
        """Squared error per token over the target's variance: the batch's FVU."""
        return (y_hat - y).pow(2).sum(-1).mean() / self.variance

    def prepare(self, x: Tensor) -> None:
        """Data-dependent initialisation from a sample of (normalised) inputs."""

    def param_groups(self, lr: float) -> list[dict]:
        return [{"params": list(self.parameters()), "lr": lr}]

    def loss(self, x: Tensor, y: Tensor, step: _Step) -> tuple[Tensor, dict[str, float]]:
        raise NotImplementedError

    @torch.no_grad()
    def before_step(self) -> None:
        """Keep each decoder row's gradient tangent to its unit sphere."""
        if self.W_dec.grad is not None:
            along = (self.W_dec.grad * self.W_dec).sum(-1, keepdim=True)
            self.W_dec.grad -= along * self.W_dec

    @torch.no_grad()
    def after_step(self) -> None:
        self.W_dec /= self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8)

    def tensors(self) -> dict[str, Tensor]:
        names = ("W_enc", "b_enc", "W_dec", "b_dec")
        return {name: getattr(self, name).detach().clone() for name in names}

    def meta_fields(self) -> dict[str, Any]:
        return {}


def _stats(recon: Tensor, codes: Tensor) -> dict[str, float]:
    return {"fvu": float(recon.detach()), "l0": float((codes > 0).sum(-1).float().mean())}


class _ReluL1(_Trainable):
    """Standard SAE: ``relu(pre)`` and an L1 penalty. Decoder rows have unit norm, so this is
    also the decoder-norm-weighted L1 of Anthropic's recipe."""

    def __init__(self, *args, l1_coeff: float, label: str | None = None) -> None:
        super().__init__(*args)
        self.l1_coeff = l1_coeff
        if label:
            self.label = label

    def loss(self, x, y, step):
        codes = self.pre_acts(x).relu()
        recon = self.recon_loss(self.decode(codes), y)
        l1 = codes.sum(-1).mean()
        return recon + step.sparsity * self.l1_coeff * l1, _stats(recon, codes)


class _TopK(_Trainable):
    """TopK SAE (Gao et al. 2024), with the AuxK loss that revives dead latents."""

    label = "topk"
    encoder = "topk"

    def __init__(
        self, *args, k: int, aux_coeff: float, dead_after: int, label: str | None = None
    ) -> None:
        super().__init__(*args)
        self.k = k
        self.aux_coeff = aux_coeff
        self.dead_after = dead_after
        if label:
            self.label = label
        self.register_buffer("idle_tokens", torch.zeros(self.d_sae))

    def activate(self, pre: Tensor) -> Tensor:
        values, indices = pre.topk(self.k, dim=-1, sorted=False)
        return torch.zeros_like(pre).scatter(-1, indices, values.relu())

    def loss(self, x, y, step):
        pre = self.pre_acts(x)
        codes = self.activate(pre)
        y_hat = self.decode(codes)
        recon = self.recon_loss(y_hat, y)
        total = recon + self.aux_coeff * self.aux_loss(pre, codes, y - y_hat)
        return total, _stats(recon, codes)

    def aux_loss(self, pre: Tensor, codes: Tensor, residual: Tensor) -> Tensor:
        """Reconstruct the residual from the top dead latents so they get gradient again."""
        with torch.no_grad():
            self.idle_tokens += codes.shape[0]
            self.idle_tokens[(codes > 0).any(0)] = 0
            dead = self.idle_tokens >= self.dead_after
        n_dead = int(dead.sum())
        if n_dead == 0 or self.aux_coeff == 0:
            return pre.new_zeros(())
        k_aux = min(n_dead, max(1, self.W_dec.shape[1] // 2))
        values, indices = pre.masked_fill(~dead, float("-inf")).topk(k_aux, dim=-1)
        aux_codes = torch.zeros_like(pre).scatter(-1, indices, values.relu())
        return (aux_codes @ self.W_dec - residual.detach()).pow(2).sum(-1).mean() / self.variance

    def meta_fields(self) -> dict[str, Any]:
        return {"k": self.k}


class _BatchTopK(_TopK):
    """BatchTopK (Bussmann et al. 2024): the top ``k * batch`` codes of the whole batch fire.

    At inference it is a JumpReLU whose one global threshold is a running average of the
    smallest positive code the batch top-k kept.
    """

    label = "batchtopk"
    encoder = "jumprelu"

    def __init__(self, *args, threshold_rate: float = 0.05, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.threshold_rate = threshold_rate
        self.register_buffer("threshold", torch.tensor(float("nan")))

    def activate(self, pre: Tensor) -> Tensor:
        acts = pre.relu().flatten()
        values, indices = acts.topk(self.k * pre.shape[0], sorted=False)
        codes = torch.zeros_like(acts).scatter(-1, indices, values).view_as(pre)
        if self.training:
            self._update_threshold(values.detach())
        return codes

    @torch.no_grad()
    def _update_threshold(self, kept: Tensor) -> None:
        positive = kept[kept > 0]
        if positive.numel() == 0:
            return
        low = positive.min()
        if torch.isnan(self.threshold):
            self.threshold.copy_(low)
        else:
            self.threshold.lerp_(low, self.threshold_rate)

    def tensors(self) -> dict[str, Tensor]:
        threshold = self.threshold.nan_to_num(0.0).expand(self.d_sae).clone()
        return {**super().tensors(), "threshold": threshold}

    def meta_fields(self) -> dict[str, Any]:
        return {"extra": {"k": self.k}}


class _Matryoshka(_BatchTopK):
    """Matryoshka BatchTopK (Bussmann et al. 2025; Nabeshima 2024): every prefix of the
    latents (group 1, groups 1-2, ...) must reconstruct the input on its own; the loss is the
    mean of the prefixes' losses. Inference as BatchTopK."""

    label = "matryoshka"

    def __init__(self, *args, group_sizes: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if sum(group_sizes) != self.d_sae or min(group_sizes) <= 0:
            raise ValueError(f"group sizes {group_sizes} must be positive and sum to d_sae")
        self.group_sizes = list(group_sizes)

    def prefix_reconstructions(self, codes: Tensor) -> list[Tensor]:
        y_hat, out, start = self.b_dec.expand(codes.shape[0], -1), [], 0
        for size in self.group_sizes:
            y_hat = y_hat + codes[:, start : start + size] @ self.W_dec[start : start + size]
            out.append(y_hat)
            start += size
        return out

    def loss(self, x, y, step):
        pre = self.pre_acts(x)
        codes = self.activate(pre)
        prefixes = self.prefix_reconstructions(codes)
        recon = torch.stack([self.recon_loss(p, y) for p in prefixes]).mean()
        aux = self.aux_loss(pre, codes, y - prefixes[-1])
        return recon + self.aux_coeff * aux, _stats(self.recon_loss(prefixes[-1], y), codes)

    def meta_fields(self) -> dict[str, Any]:
        widths = [sum(self.group_sizes[: i + 1]) for i in range(len(self.group_sizes))]
        extra = {"k": self.k, "group_sizes": self.group_sizes, "matryoshka_widths": widths}
        return {"extra": extra}


class _JumpRelu(_Trainable):
    """JumpReLU SAE (Rajamanoharan et al. 2024b): per-latent thresholds learnt through
    straight-through estimators, and an L0 penalty.

    With ``target_l0`` set the penalty is ``coeff * (L0 / target_l0 - 1)^2`` (as in
    dictionary_learning), which steers L0 to a target instead of trading it at a fixed rate.
    """

    label = "jumprelu"
    encoder = "jumprelu"

    def __init__(
        self,
        *args,
        l0_coeff: float,
        target_l0: float | None,
        bandwidth: float,
        init_threshold: float | None,
        threshold_lr_scale: float,
    ) -> None:
        super().__init__(*args)
        self.l0_coeff = l0_coeff
        self.target_l0 = target_l0
        self.bandwidth = bandwidth
        self.threshold_lr_scale = threshold_lr_scale
        self.log_threshold = nn.Parameter(torch.zeros(self.d_sae))
        self.init_threshold = init_threshold

    @torch.no_grad()
    def prepare(self, x: Tensor) -> None:
        """Start every threshold at ``init_threshold``, or where ``target_l0`` latents per
        token would fire at initialisation when it is None."""
        theta = self.init_threshold
        if theta is None:
            acts = self.pre_acts(x).relu().flatten()
            keep = min(acts.numel() - 1, round(self.target_l0 * x.shape[0]))
            theta = float(acts.topk(keep + 1).values[-1].clamp_min(1e-3))
        self.log_threshold.fill_(math.log(theta))

    def param_groups(self, lr: float) -> list[dict]:
        rest = [p for name, p in self.named_parameters() if name != "log_threshold"]
        return [
            {"params": rest, "lr": lr},
            {"params": [self.log_threshold], "lr": lr * self.threshold_lr_scale},
        ]

    def loss(self, x, y, step):
        pre = self.pre_acts(x)
        theta = self.log_threshold.exp()
        codes = _JumpReluFn.apply(pre, theta, self.bandwidth)
        recon = self.recon_loss(self.decode(codes), y)
        l0 = _StepFn.apply(pre, theta, self.bandwidth).sum(-1).mean()
        penalty = l0 if self.target_l0 is None else (l0 / self.target_l0 - 1).pow(2)
        return recon + step.sparsity * self.l0_coeff * penalty, _stats(recon, codes)

    def tensors(self) -> dict[str, Tensor]:
        return {**super().tensors(), "threshold": self.log_threshold.detach().exp()}


class _Gated(_Trainable):
    """Gated SAE (Rajamanoharan et al. 2024a): a gate path ``x W + b_gate`` decides which
    latents fire, a magnitude path ``x (W * exp(r_mag)) + b_mag`` how much. The loss adds an
    L1 penalty on the gate's ReLU and the auxiliary loss: reconstructing the input from the
    gate's ReLU through a frozen copy of the decoder."""

    label = "gated"
    encoder = "gated"

    def __init__(self, *args, l1_coeff: float) -> None:
        super().__init__(*args)
        self.l1_coeff = l1_coeff
        self.r_mag = nn.Parameter(torch.zeros(self.d_sae))
        self.b_mag = nn.Parameter(torch.zeros(self.d_sae))

    def loss(self, x, y, step):
        projected = (x - self.b_dec) @ self.W_enc
        pi_gate = projected + self.b_enc
        magnitude = (projected * self.r_mag.exp() + self.b_mag).relu()
        codes = (pi_gate > 0) * magnitude
        recon = self.recon_loss(self.decode(codes), y)
        gate = pi_gate.relu()
        aux = self.recon_loss(gate @ self.W_dec.detach() + self.b_dec.detach(), y)
        l1 = gate.sum(-1).mean()
        return recon + step.sparsity * self.l1_coeff * l1 + aux, _stats(recon, codes)

    def tensors(self) -> dict[str, Tensor]:
        out = super().tensors()
        out["b_gate"] = out.pop("b_enc")
        return {**out, "r_mag": self.r_mag.detach().clone(), "b_mag": self.b_mag.detach().clone()}


# -- the shared loop ---------------------------------------------------------------------------
def _spread(t: Tensor) -> float:
    """``E ||t - mean||^2`` over rows (per-column variances, so no centred copy is made)."""
    return float(t.var(dim=0, correction=0).double().sum())


def _scale(t: Tensor, normalize: bool) -> float:
    """The factor that gives ``t`` a mean squared centred norm of its width."""
    if not normalize:
        return 1.0
    return (t.shape[-1] / max(_spread(t), 1e-12)) ** 0.5


def _batches(n: int, batch_size: int, steps: int, gen: torch.Generator) -> Iterator[Tensor]:
    """``steps`` batches of row indices, each epoch a fresh permutation."""
    batch_size = min(batch_size, n)
    done = 0
    while True:
        order = torch.randperm(n, generator=gen)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]
            done += 1
            if done == steps:
                return


def _fold(tensors: dict[str, Tensor], s_in: float, s_out: float) -> dict[str, Tensor]:
    """Weights trained on ``x * s_in -> y * s_out`` rewritten to work on raw ``x -> y``.

    Codes are divided by ``s_out`` so decoder rows keep unit norm: the encoder matrix takes
    ``s_in / s_out``, every bias and threshold ``1 / s_out`` (including ``b_dec``, which is
    then right both as output bias and as the raw-space input offset of an SAE).
    """
    out = {}
    for name, t in tensors.items():
        if name == "W_enc":
            t = t * (s_in / s_out)
        elif name.startswith("b_") or name == "threshold":
            t = t / s_out
        out[name] = t.float().contiguous()
    return out


def fit(
    make: Callable[..., _Trainable],
    acts: Tensor,
    targets: Tensor | None = None,
    *,
    d_sae: int,
    config: TrainConfig = TrainConfig(),
    meta: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> Sae:
    """Train the dictionary ``make(d_in, d_sae, y_mean, transcoder, generator)`` builds.

    ``targets`` is ``None`` for an SAE (it reconstructs ``acts``) and the output activations
    for a transcoder. ``meta`` holds the :class:`SaeMetadata` fields that describe where the
    SAE sits (``hook_name``, ``model_name``, ``context_size`` ...).
    """
    gen = torch.Generator().manual_seed(config.seed)
    transcoder = targets is not None
    x = acts.float()
    y = targets.float() if transcoder else x
    s_in = _scale(x, config.normalize)
    s_out = _scale(y, config.normalize) if transcoder else s_in
    x, y = x * s_in, (y * s_out if transcoder else None)
    y_mean = (y if transcoder else x).mean(0)
    model = make(x.shape[1], d_sae, y_mean, transcoder, gen)
    model.prepare(x[torch.randperm(x.shape[0], generator=gen)[:4096]])
    model.variance = _spread(y if transcoder else x)
    _loop(model, x, y, config, gen, log)
    return _to_sae(model, s_in, s_out, transcoder, y_mean.shape[0], meta)


def _loop(model: _Trainable, x: Tensor, y: Tensor | None, config, gen, log) -> None:
    optimizer = torch.optim.Adam(model.param_groups(config.lr))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, config.lr_factor)
    model.train()
    for index, rows in enumerate(_batches(x.shape[0], config.batch_size, config.steps, gen)):
        xb = x[rows]
        step = _Step(index, config.sparsity_factor(index))
        loss, stats = model.loss(xb, xb if y is None else y[rows], step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        model.before_step()
        optimizer.step()
        schedule.step()
        model.after_step()
        if (
            log
            and config.log_every
            and (index % config.log_every == 0 or index + 1 == config.steps)
        ):
            shown = " ".join(f"{k}={v:.4g}" for k, v in stats.items())
            log(f"  {model.label} step {index + 1}/{config.steps} loss={float(loss):.4g} {shown}")
    model.eval()


def _to_sae(model, s_in, s_out, transcoder, d_out, meta) -> Sae:
    tensors = _fold(model.tensors(), s_in, s_out)
    fields = {**model.meta_fields(), "apply_b_dec_to_input": model.apply_b_dec_to_input}
    if transcoder:
        fields["d_out"] = d_out
    where = "saebench.zoo.build.train_sae"
    return as_sae(
        model.label, tensors, encoder=model.encoder, fields=fields, meta=meta, where=where
    )


# -- the public trainers ------------------------------------------------------------------------
def _dead_after(config: TrainConfig) -> int:
    return min(config.dead_after_tokens, config.n_tokens // 4)


def train_relu(
    acts: Tensor,
    *,
    d_sae: int,
    l1_coeff: float = 0.04,
    config: TrainConfig = TrainConfig(),
    meta: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> Sae:
    """A standard ReLU SAE with an L1 penalty (on codes of unit-norm decoder rows).

    ``l1_coeff`` multiplies the mean per-token L1 of codes, measured on activations scaled to
    mean squared norm ``d_in``, against a reconstruction loss that is the batch's FVU.

    Example:
        >>> sae = train_relu(acts, d_sae=512, l1_coeff=0.04)
    """
    make = _partial(_ReluL1, l1_coeff=l1_coeff)
    return fit(make, acts, d_sae=d_sae, config=config, meta=meta, log=log)


def train_topk(
    acts: Tensor,
    *,
    k: int,
    d_sae: int,
    aux_coeff: float = 1 / 32,
    config: TrainConfig = TrainConfig(),
    meta: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> Sae:
    """A TopK SAE: exactly the ``k`` largest pre-activations fire (if positive).

    Example:
        >>> sae = train_topk(acts, k=16, d_sae=512)
    """
    make = _partial(_TopK, k=k, aux_coeff=aux_coeff, dead_after=_dead_after(config))
    return fit(make, acts, d_sae=d_sae, config=config, meta=meta, log=log)


def train_batchtopk(
    acts: Tensor,
    *,
    k: int,
    d_sae: int,
    aux_coeff: float = 1 / 32,
    config: TrainConfig = TrainConfig(),
    meta: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> Sae:
    """A BatchTopK SAE, saved in its inference form: a JumpReLU with one global threshold.

    Example:
        >>> sae = train_batchtopk(acts, k=16, d_sae=512)   # sae.meta.extra["k"] == 16
    """
    make = _partial(_BatchTopK, k=k, aux_coeff=aux_coeff, dead_after=_dead_after(config))
    return fit(make, acts, d_sae=d_sae, config=config, meta=meta, log=log)


def train_matryoshka(
    acts: Tensor,
    *,
    k: int,
    group_sizes: list[int],
    aux_coeff: float = 1 / 32,
    config: TrainConfig = TrainConfig(),
    meta: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> Sae:
    """A Matryoshka BatchTopK SAE of ``sum(group_sizes)`` latents, saved as a JumpReLU with
    one global threshold; the group sizes and cumulative widths go in ``meta.extra``.

    Example:
        >>> sae = train_matryoshka(acts, k=16, group_sizes=[32, 64, 128, 288])
    """
    make = _partial(
        _Matryoshka,
        k=k,
        group_sizes=group_sizes,
        aux_coeff=aux_coeff,
        dead_after=_dead_after(config),
    )
    return fit(make, acts, d_sae=sum(group_sizes), config=config, meta=meta, log=log)


def train_jumprelu(
    acts: Tensor,
    *,
    d_sae: int,
    target_l0: float | None = 16.0,
    l0_coeff: float = 1.0,
    bandwidth: float = 0.2,
    init_threshold: float | None = None,
    threshold_lr_scale: float = 5.0,
    config: TrainConfig = TrainConfig(),
    meta: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> Sae:
    """A JumpReLU SAE. ``bandwidth`` and ``init_threshold`` are in units of the scaled
    activations (mean squared norm ``d_in``, so about 1 per coordinate).

    Example:
        >>> sae = train_jumprelu(acts, d_sae=512, target_l0=16)
    """
    if target_l0 is None and init_threshold is None:
        raise ValueError("train_jumprelu needs target_l0 or init_threshold")
    make = _partial(
        _JumpRelu,
        l0_coeff=l0_coeff,
        target_l0=target_l0,
        bandwidth=bandwidth,
        init_threshold=init_threshold,
        threshold_lr_scale=threshold_lr_scale,
    )
    return fit(make, acts, d_sae=d_sae, config=config, meta=meta, log=log)


def train_gated(
    acts: Tensor,
    *,
    d_sae: int,
    l1_coeff: float = 0.04,
    config: TrainConfig = TrainConfig(),
    meta: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> Sae:
    """A Gated SAE trained with its auxiliary loss.

    Example:
        >>> sae = train_gated(acts, d_sae=512, l1_coeff=0.04)
    """
    make = _partial(_Gated, l1_coeff=l1_coeff)
    return fit(make, acts, d_sae=d_sae, config=config, meta=meta, log=log)


def train_transcoder(
    inputs: Tensor,
    targets: Tensor,
    *,
    d_sae: int,
    k: int | None = None,
    l1_coeff: float = 0.04,
    config: TrainConfig = TrainConfig(),
    meta: Mapping[str, Any] | None = None,
    log: Log | None = None,
) -> Sae:
    """A transcoder from ``inputs`` (e.g. an MLP's input) to ``targets`` (its output): TopK
    when ``k`` is given (label ``topk_transcoder``), else ReLU with L1 (``transcoder``).
    ``apply_b_dec_to_input`` is False, as in SAELens; ``meta`` should name ``hook_name_out``.

    Example:
        >>> tc = train_transcoder(mlp_in, mlp_out, d_sae=512, k=16,
        ...                       meta={"hook_name": "blocks.1.ln2.hook_normalized",
        ...                             "hook_name_out": "blocks.1.hook_mlp_out"})
    """
    if k is None:
        make = _partial(_ReluL1, l1_coeff=l1_coeff, label="transcoder")
    else:
        make = _partial(
            _TopK, k=k, aux_coeff=1 / 32, dead_after=_dead_after(config), label="topk_transcoder"
        )
    return fit(make, inputs, targets, d_sae=d_sae, config=config, meta=meta, log=log)


def _partial(cls: type[_Trainable], **kwargs) -> Callable[..., _Trainable]:
    def make(*args) -> _Trainable:
        return cls(*args, **kwargs)

    return make
