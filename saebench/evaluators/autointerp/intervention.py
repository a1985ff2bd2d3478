"""Intervention scoring (Paulo et al. 2024, sec. 3.3): does the explanation predict what
steering the latent does to the model's output?

1. Prompts: the first ``prompt_tokens`` tokens of seeded contexts of the token set, the same
   for every latent (so the clean run and continuation are computed once).
2. Steering: ``alpha * W_dec[i]`` added at each prompt's last position of the SAE's output
   hook, everything else of the activation (the SAE's error term included) kept. ``alpha``
   is ``m * |x| / |W_dec[i]|`` (``|x|``: the mean norm of the hook at the prompts' last
   position), with ``m`` found by bisection on ``log m`` in ``[1e-3, 1e2]`` so that the mean
   next-token KL(clean || steered) over the prompts reaches ``target_kl``; all latents of a
   chunk search at once, one batched tail run per step. A latent that cannot reach the
   target within the bound is steered at the bound and counted ("kl_unreached").
3. Clean and steered continuations: greedy, ``new_tokens`` tokens (``ModelRunner.generate``).
4. Score, by what the server offers:
   * ``surprisal`` (prompt logprobs): mean over prompts of
     ``-log p(expl | clean passage) - (-log p(expl | steered passage))`` in nats; positive
     means the explanation is more expected after steering;
   * ``choice``: "which passage shows more of X?", the steered passage as A or B at random
     (seeded); accuracy (0.5 is chance).

Example:
    >>> plan = steer_latents(runner, sae, [3, 7], prompts, target_kl=0.5)
    >>> plan.kl            # [2] mean KL reached per latent, close to 0.5
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

import torch
from torch import Tensor

from saebench.models.edits import add_direction

_LOW, _HIGH = math.log(1e-3), math.log(1e2)
_CHOICE = re.compile(r"\b([AB])\b")

CHOOSE_SYSTEM = (
    "You compare two passages against an explanation of a language-model feature. The "
    "passages start the same way and differ in how they continue. Say which passage shows "
    "more of what the explanation describes. Reply with only the letter A or B."
)
SURPRISAL_SUFFIX = "\n\nThe passage above is strongly about"


@dataclass
class Steering:
    """What the search found, per latent: the multiplier ``m``, alpha and the KL reached."""

    latents: list[int]
    multiplier: Tensor  # [n]
    alpha: Tensor  # [n]
    kl: Tensor  # [n] mean next-token KL (nats) at alpha
    reached: Tensor  # [n] bool: the target was reached inside the bound


def steering_prompts(tokens: Tensor, n: int, length: int, seed: int) -> Tensor:
    """The first ``length`` tokens of ``n`` seeded contexts ``[n, length]``."""
    rng = random.Random(f"{seed}/intervention")
    rows = sorted(rng.sample(range(tokens.shape[0]), min(n, tokens.shape[0])))
    return tokens[rows, : min(length, tokens.shape[1])]


def _kl(clean_logp: Tensor, logits: Tensor) -> Tensor:
    """KL(clean || steered) per prompt ``[edits, prompts]`` (nats)."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    return (clean_logp.exp() * (clean_logp - logp)).sum(-1)


def _edits(sae, latents: list[int], alpha: Tensor, ends: Tensor) -> list:
    w = sae.W_dec.detach()
    meta = sae.meta if sae.meta.hook_head_index is not None else None
    return [
        add_direction(w[i], float(a), ends, meta=meta) for i, a in zip(latents, alpha, strict=True)
    ]


@torch.no_grad()
def steer_latents(
    runner, sae, latents: list[int], prompts: Tensor, target_kl: float, steps: int = 14
) -> Steering:
    """Bisection on ``log m`` per latent, all latents at once (see the module docstring)."""
    hook = sae.meta.output_hook
    ends = torch.full((prompts.shape[0],), prompts.shape[1] - 1, device=prompts.device)
    restart = runner.restart_hook(hook)
    names = sorted({hook, *([restart] if restart else [])})
    clean = runner.capture(prompts, names)
    last = clean[hook][torch.arange(prompts.shape[0]), ends]
    scale = float(last.flatten(1).norm(dim=-1).mean())
    norms = sae.W_dec.detach().norm(dim=-1)[latents].float().clamp_min(1e-12).cpu()
    clean_logp = torch.log_softmax(runner.logits_at(prompts)[0].float(), dim=-1)

    def kl_at(log_m: Tensor) -> Tensor:
        alpha = log_m.exp() * scale / norms
        logits = runner.logits_at(prompts, None, hook, _edits(sae, latents, alpha, ends), clean)
        return _kl(clean_logp, logits).mean(-1).cpu()

    n = len(latents)
    low, high = torch.full((n,), _LOW), torch.full((n,), _HIGH)
    reached = kl_at(high) >= target_kl
    for _ in range(steps):
        mid = (low + high) / 2
        above = kl_at(mid) >= target_kl
        high = torch.where(above, mid, high)
        low = torch.where(above, low, mid)
    log_m = torch.where(reached, high, torch.full((n,), _HIGH))
    alpha = log_m.exp() * scale / norms
    return Steering(latents, log_m.exp(), alpha, kl_at(log_m), reached)


@torch.no_grad()
def continuations(runner, sae, steering: Steering, prompts: Tensor, new_tokens: int) -> Tensor:
    """Greedy continuations ``[1 + n_latents, n_prompts, new_tokens]``: clean first."""
    ends = torch.full((prompts.shape[0],), prompts.shape[1] - 1, device=prompts.device)
    edits = [None, *_edits(sae, steering.latents, steering.alpha, ends)]
    return runner.generate(prompts, new_tokens, hook=sae.meta.output_hook, edits=edits)


def passage(tokenizer, prompt: list[int], new: list[int]) -> str:
    text = tokenizer.decode(prompt + new, skip_special_tokens=True)
    return " ".join(text.split())  # one line


def choice_request(explanation: str, clean: str, steered: str, steered_first: bool):
    from saebench.llm.client import ChatRequest

    a, b = (steered, clean) if steered_first else (clean, steered)
    user = (
        f"Explanation: {explanation}\n\nPassage A: {a}\nPassage B: {b}\n\n"
        "Which passage shows more of what the explanation describes? Answer A or B."
    )
    return ChatRequest(
        messages=(("system", CHOOSE_SYSTEM), ("user", user)), purpose="choose", max_tokens=4
    )


def parse_choice(text: str | None) -> str | None:
    """ "A" or "B": the whole answer, else its first standalone letter; None otherwise."""
    text = (text or "").strip().strip("*_`\"'.()[] ")
    if text in ("A", "B"):
        return text
    found = _CHOICE.findall(text.replace("Passage ", ""))
    return found[0] if found and len(set(found)) == 1 else None


def surprisal_requests(explanation: str, clean: str, steered: str):
    from saebench.llm.client import SurprisalRequest

    continuation = f" {explanation}"
    return [
        SurprisalRequest(prompt=f"{clean}{SURPRISAL_SUFFIX}", continuation=continuation),
        SurprisalRequest(prompt=f"{steered}{SURPRISAL_SUFFIX}", continuation=continuation),
    ]


def surprisal_difference(clean, steered) -> tuple[float | None, str | None]:
    """``sum log p(e | steered) - sum log p(e | clean)`` (nats), or (None, failure kind)."""
    from saebench.llm.client import LlmFailure

    for reply in (clean, steered):
        if isinstance(reply, LlmFailure):
            return None, reply.kind
        if not reply or any(v is None for v in reply):
            return None, "no_logprobs"
    return float(sum(steered) - sum(clean)), None
