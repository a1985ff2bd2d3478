"""The amplified forwards of the output score: one per latent (and per random direction),
batched, on the neutral prompt, the layers after the SAE's output hook only.

The paper (``AmlifySAEHook``) encodes the hook's activation, adds ``amp_factor`` times the
largest code at the last token to the latent's code there, decodes and adds the SAE's error
back. Decoding is affine in the codes, so this adds ``c * u_i`` at the last token, with
``c = amp_factor * max code`` and ``u_i = decode(e_i) - decode(0)`` (the decoder row, through
the SAE's output normalisation; a skip connection cancels): that step is what is added
here. A transcoder's codes come from its input hook and the step goes to its output hook,
where its decoder writes. The random-direction null adds ``c * g_i`` instead, ``g_i`` a
Gaussian direction of the norm of ``u_i`` (seeded).

Example:
    >>> found = amplify(sae, runner, prompt="From my experience,", latents=torch.arange(8),
    ...                 amp_factor=10.0, k=20, seed=0)
    >>> found.scores, found.null_scores          # [8] each, float64
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from saebench.evaluators.output_score.scores import lens_tokens, output_scores
from saebench.models.edits import add_direction, sae_view
from saebench.models.prompts import make_batch

# latents per batched forward: fixed (not the run's batch size), so the float order of a
# record's forwards is the same in every run
CHUNK = 64


@dataclass
class Amplified:
    """Per sampled latent: its output score, the clean score of the same tokens, the null's."""

    coefficient: float  # c = amp_factor * largest code at the prompt's last token
    lens: Tensor  # [n, k] lens tokens of each latent
    scores: Tensor  # [n] output score after amplification
    clean_scores: Tensor  # [n] the same formula on the clean prompt
    null_lens: Tensor  # [n, k]
    null_scores: Tensor  # [n]
    prompt_tokens: int  # tokens of the prompt (BOS counted)


@torch.no_grad()
def amplify(sae, runner, prompt: str, latents: Tensor, amp_factor: float, k: int, seed: int):
    """Output scores of ``latents`` and of their random-direction nulls (module docstring)."""
    model, meta = runner.model, sae.meta
    batch = make_batch(model, [prompt])
    last = int(batch.ends[0])
    restart = runner.restart_hook(meta.output_hook)
    clean = runner.capture(batch, [meta.hook_name] + ([restart] if restart else []))
    x = sae_view(clean[meta.hook_name], meta)[0, last].unsqueeze(0)  # [1, d_in]
    coefficient = amp_factor * float(sae.encode(x).float().max().clamp_min(0))
    units = unit_steps(sae, latents, x)
    null = random_like(units, seed)
    clean_logits = runner.logits_at(batch, hook=None)[0].float().cpu()  # [1, vocab]
    lens, null_lens = lens_tokens(model, units, k), lens_tokens(model, null, k)
    return Amplified(
        coefficient=coefficient,
        lens=lens,
        scores=_scores(runner, batch, clean, meta.output_hook, coefficient * units, lens),
        clean_scores=output_scores(clean_logits.expand(len(lens), -1), lens),
        null_lens=null_lens,
        null_scores=_scores(runner, batch, clean, meta.output_hook, coefficient * null, null_lens),
        prompt_tokens=int(batch.lengths[0]),
    )


def unit_steps(sae, latents: Tensor, x: Tensor) -> Tensor:
    """``decode(e_i, x) - decode(0, x)`` for each latent ``i``: ``[n, d_out]`` float32.

    Computed as the denormalised decoder rows minus the denormalised zero (``b_dec`` and a
    skip connection cancel), in float32: a float16 SAE's ``b_dec + W_dec[i] - b_dec`` would
    lose the row's low bits."""
    rows = sae.W_dec.detach()[latents.to(sae.device)].float()
    xs = x.to(sae.device).expand(len(latents), -1)
    zero = sae.denormalize(torch.zeros_like(rows[:1]), x.to(sae.device)).float()
    return (sae.denormalize(rows, xs).float() - zero).cpu()


def random_like(units: Tensor, seed: int) -> Tensor:
    """Gaussian directions with each row's norm (seeded, drawn on the CPU in float32)."""
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(units.shape, generator=gen, dtype=torch.float32)
    return g * (units.norm(dim=-1, keepdim=True) / g.norm(dim=-1, keepdim=True))


def _scores(runner, batch, clean, hook: str, steps: Tensor, lens: Tensor) -> Tensor:
    """Output scores of adding each row of ``steps`` at the prompt's last token."""
    out = []
    for start in range(0, len(steps), CHUNK):
        part = steps[start : start + CHUNK]
        logits = _logits(runner, batch, clean, hook, part)
        out.append(output_scores(logits, lens[start : start + CHUNK].to(logits.device)))
    return torch.cat(out).cpu()


def _logits(runner, batch, clean, hook: str, steps: Tensor) -> Tensor:
    """Next-token logits ``[n, vocab]`` of the prompt with ``steps[j]`` added at its last
    token, the n copies in one forward of the layers after ``hook``."""
    n = len(steps)
    copies = make_batch(runner.model, [batch.prompts[0].text] * n)
    stacked = {name: act.expand(n, *act.shape[1:]) for name, act in clean.items()}
    device = next(iter(clean.values())).device
    edit = add_direction(steps.to(device), 1.0, (torch.arange(n, device=device), copies.ends))
    return runner.logits_at(copies, hook=hook, edits=[edit], clean=stacked)[0].float()
