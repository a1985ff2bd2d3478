"""Intervention scoring (Paulo et al. 2024, sec. 3.3): does the explanation predict what
steering the latent does to the model's output?

1. Prompts, per latent: its held-out activating windows, each cut at its first activating
   token (kept: the prompt ends where the latent first fires), with at most
   ``prompt_tokens`` tokens of the context before it. All prompts of a chunk of latents run
   as one right-padded batch.
2. Steering: ``alpha * W_dec[i]`` added at each prompt's last position of the SAE's output
   hook, everything else of the activation (the SAE's error term included) kept. ``alpha``
   is ``m * |x| / |W_dec[i]|`` (``|x|``: the mean norm of the hook at the latent's prompts'
   last positions), with ``m`` found by bisection on ``log m`` in ``[1e-3, 1e2]`` so that
   the mean next-token KL(clean || steered) over the latent's prompts reaches ``target_kl``;
   all latents of a chunk search at once, one batched tail run per step. A latent that
   cannot reach the target within the bound is steered at the bound and counted
   ("kl_unreached").
3. Clean and steered continuations, sampled at ``temperature`` (the paper's T = 1) with
   *shared* Gumbel noise: the clean and the steered copy of a prompt draw the same random
   numbers, so each continuation has the sampled distribution while the two differ only
   where the steering changed the distribution enough to change the draw (common random
   numbers: the same expected score as independent draws, less noise). A pair whose
   continuations are equal is "unchanged"; its score is 0 (0.5 in choice mode) without
   asking the judge, since no explanation can tell two equal passages apart.
4. Score, by what the server offers (see :mod:`saebench.evaluators.autointerp.steer`):
   * ``surprisal`` (prompt logprobs): ``log p(expl | steered passage) - log p(expl | clean
     passage)`` in nats after the paper's line "The passage above contains an amplified
     amount of"; positive means the explanation is more expected after steering;
   * ``choice``: "which passage shows more of X?", the steered passage as A or B at random
     (seeded); accuracy (0.5 is chance).

Example:
    >>> batch, owner = prompt_batch([[5, 9, 3], [7, 2]], [0, 1])
    >>> found = steer_rows(runner, sae, [3, 7], batch, owner, target_kl=0.5)
    >>> clean, steered = sample_continuations(runner, sae, batch, owner, found, 8, 1.0, [0, 1])
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import Tensor

from saebench.models.edits import add_direction
from saebench.models.prompts import PromptBatch

_LOW, _HIGH = math.log(1e-3), math.log(1e2)
_CHOICE = re.compile(r"\b([AB])\b")

CHOOSE_SYSTEM = (
    "You compare two passages against an explanation of a language-model feature. The "
    "passages start the same way and differ in how they continue. Say which passage shows "
    "more of what the explanation describes. Reply with only the letter A or B."
)
SURPRISAL_SUFFIX = "\n\nThe passage above contains an amplified amount of"


@dataclass
class Steering:
    """What the search found, per latent: the multiplier ``m``, alpha and the KL reached."""

    latents: list[int]
    multiplier: Tensor  # [n]
    alpha: Tensor  # [n]
    kl: Tensor  # [n] mean next-token KL (nats) at alpha over the latent's prompts
    reached: Tensor  # [n] bool: the target was reached inside the bound


def first_active_prompt(example, tokens: Tensor, max_tokens: int) -> dict | None:
    """The prompt of one activating window: the context's tokens up to and including the
    window's first activating (non-special) token, at most ``max_tokens`` of them."""
    active = example.active()
    if True not in active or example.context < 0:
        return None
    first = active.index(True)
    end = example.start + first + 1
    ids = tokens[example.context, max(0, end - max_tokens) : end].tolist()
    return {
        "ids": ids,
        "act_at_end": float(example.acts[first]),
        "acts_before": max([float(a) for a in example.acts[:first]] + [0.0]),
    }


def prompt_batch(prompts: list[list[int]], owner: list[int], pad_id: int = 0):
    """Right-padded prompts as a :class:`PromptBatch`, and the owner latent of each row."""
    width = max(len(p) for p in prompts)
    tokens = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, ids in enumerate(prompts):
        tokens[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[row, : len(ids)] = 1
    lengths = mask.sum(1)
    batch = PromptBatch(tokens, mask, lengths, {}, None, None, pad_id)
    return batch, torch.tensor(owner, dtype=torch.long)


def _per_latent(values: Tensor, owner: Tensor, n: int) -> Tensor:
    """Mean of per-row ``values`` over each latent's rows ``[n]``."""
    total = torch.zeros(n, dtype=torch.float64).index_add_(0, owner, values.double().cpu())
    count = torch.zeros(n, dtype=torch.float64).index_add_(
        0, owner, torch.ones_like(owner, dtype=torch.float64)
    )
    return (total / count.clamp_min(1)).float()


def _steer_edit(sae, latents: list[int], alpha: Tensor, owner: Tensor, rows: Tensor, cols):
    """One edit adding ``alpha[owner] * W_dec[latent of the row]`` at (rows, cols)."""
    w = sae.W_dec.detach()
    index = torch.tensor(latents, device=w.device)[owner.to(w.device)]
    step = alpha.to(w.device, w.dtype)[owner.to(w.device)][:, None]
    meta = sae.meta if sae.meta.hook_head_index is not None else None
    return add_direction(w[index], step, (rows.to(w.device), cols.to(w.device)), meta=meta)


@torch.no_grad()
def steer_rows(
    runner, sae, latents: list[int], batch: PromptBatch, owner: Tensor, target_kl: float,
    steps: int = 14,
) -> Steering:  # fmt: skip
    """Bisection on ``log m`` per latent, all latents at once (see the module docstring)."""
    hook = sae.meta.output_hook
    device = batch.tokens.device
    rows, ends = torch.arange(len(batch), device=device), batch.ends
    restart = runner.restart_hook(hook)
    clean = runner.capture(batch, sorted({hook, *([restart] if restart else [])}))
    last = clean[hook][rows, ends].flatten(1).float().norm(dim=-1)
    n = len(latents)
    scale = _per_latent(last, owner.cpu(), n)
    norms = sae.W_dec.detach().norm(dim=-1)[latents].float().clamp_min(1e-12).cpu()
    clean_logp = torch.log_softmax(runner.logits_at(batch)[0].float(), dim=-1)

    def kl_at(log_m: Tensor) -> Tensor:
        alpha = log_m.exp() * scale / norms
        edit = _steer_edit(sae, latents, alpha, owner, rows, ends)
        logits = runner.logits_at(batch, None, hook, [edit], clean)[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        return _per_latent((clean_logp.exp() * (clean_logp - logp)).sum(-1), owner.cpu(), n)

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
def sample_continuations(
    runner, sae, batch: PromptBatch, owner: Tensor, steering: Steering, new_tokens: int,
    temperature: float, seeds: list[int],
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Sampled continuations ``[rows, new_tokens]``, clean and steered, with shared noise.

    The clean and the steered copy of every prompt run as one stacked batch; each step
    re-runs the whole sequence (the steering edit stays at the prompt's last position) and
    appends one token per row at its own end. Row ``k`` draws its noise from ``seeds[k]``,
    so a continuation does not depend on which other prompts share its batch.
    """
    r = len(batch)
    device = batch.tokens.device
    tokens = torch.cat([batch.tokens, batch.tokens])
    mask = torch.cat([batch.attention_mask, batch.attention_mask])
    lengths = torch.cat([batch.lengths, batch.lengths])
    steered_rows = torch.arange(r, 2 * r, device=device)
    edit = _steer_edit(sae, steering.latents, steering.alpha, owner, steered_rows, batch.ends)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    every = torch.arange(2 * r, device=device)
    out = []
    for _ in range(new_tokens):
        step = PromptBatch(tokens, mask, lengths, {}, None, None, batch.pad_id)
        logits = runner.logits_at(step, None, sae.meta.output_hook, [edit])[0].float()
        logp = torch.log_softmax(logits / temperature, dim=-1).cpu()
        noise = torch.stack([torch.rand(logp.shape[1], generator=g) for g in generators])
        gumbel = -torch.log(-torch.log(noise.clamp(1e-12, 1 - 1e-7)))
        nxt = (logp + torch.cat([gumbel, gumbel])).argmax(-1).to(device)
        pad = torch.zeros_like(tokens[:, :1])
        tokens, mask = torch.cat([tokens, pad], 1), torch.cat([mask, pad], 1)
        tokens[every, lengths], mask[every, lengths] = nxt, 1
        lengths = lengths + 1
        out.append(nxt)
    new = torch.stack(out, dim=1).cpu()
    return new[:r], new[r:]


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
