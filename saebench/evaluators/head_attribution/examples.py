"""DFA examples: the latents of largest activation on a few prompts, each decomposed over
source positions (:mod:`.dfa`), with the identity that the terms sum to the pre-activation
checked on every example."""

from __future__ import annotations

import torch
from torch import Tensor

from saebench.evaluators.head_attribution import dfa as D


def capture(context, hook_z: str, n_prompts: int, max_tokens: int) -> dict[str, Tensor]:
    """The first ``n_prompts`` contexts of the streamed token set (cut to ``max_tokens``)
    and the layer's values, pattern and z on them (one forward up to the layer)."""
    tokens = context.token_set.tokens[:n_prompts, :max_tokens]
    hook_v, hook_pattern = D.hook_names(hook_z)
    acts = context.runner.capture(tokens, [hook_v, hook_pattern, hook_z])
    return {
        "tokens": tokens,
        "mask": context.token_set.mask(tokens),
        "v": acts[hook_v],
        "pattern": acts[hook_pattern],
        "z": acts[hook_z].flatten(-2),
    }


@torch.no_grad()
def examples(cfg, sae, captured: dict[str, Tensor], to_str=None) -> list[dict]:
    """Per prompt, the ``dfa_latents_per_prompt`` distinct latents of largest activation
    (at their strongest counted position), each with its DFA over source positions."""
    out = []
    for p in range(captured["tokens"].shape[0]):
        one = {k: captured[k][p : p + 1] for k in ("v", "pattern", "z")}
        codes = sae.encode(one["z"][0]).float()  # [pos, d_sae]
        codes[~captured["mask"][p]] = 0
        best, where = codes.max(dim=0)
        order = torch.argsort(best, descending=True)[: cfg.dfa_latents_per_prompt]
        latents, dests = order[best[order] > 0], where[order[best[order] > 0]]
        if len(latents) == 0:
            continue
        values = D.dfa(sae, one["pattern"], one["v"], one["z"], latents, dests)
        pre = sae.pre_acts(sae.normalize(one["z"][0, dests].to(sae.dtype)))
        bias = D.encoder_bias(sae)
        tokens = captured["tokens"][p]
        for i, (f, d) in enumerate(zip(latents.tolist(), dests.tolist(), strict=True)):
            row = values[i, : d + 1].double()
            heads = D.per_head(sae, one["pattern"], one["v"], one["z"], f, d)
            error = abs(float(row.sum() + bias[f]) - float(pre[i, f]))
            out.append(
                _example(cfg, p, f, d, row, heads, float(codes[d, f]), error, tokens, to_str)
            )
    return out


def _example(cfg, prompt, latent, dest, row, heads, activation, error, tokens, to_str) -> dict:
    magnitude = row.abs()
    total = float(magnitude.sum())
    top = torch.argsort(magnitude, descending=True)[: cfg.dfa_top_sources].tolist()

    def label(pos: int) -> str:
        return to_str(tokens[pos]) if to_str is not None else str(int(tokens[pos]))

    return {
        "prompt": prompt,
        "latent": latent,
        "dest": dest,
        "dest_token": label(dest),
        "activation": round(activation, 5),
        "dfa": [round(float(x), 5) for x in row],
        "tokens": [label(s) for s in range(dest + 1)],
        "dfa_by_head": [round(float(x), 5) for x in heads],
        "top_sources": [
            {"pos": s, "offset": dest - s, "token": label(s), "dfa": round(float(row[s]), 5)}
            for s in top
        ],
        "top_source_share": float(magnitude[top[0]]) / total if total > 0 else 0.0,
        "identity_error": error,
    }
