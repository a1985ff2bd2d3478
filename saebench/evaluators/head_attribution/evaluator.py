"""The ``head_attribution`` plug-in: attention-output SAEs (concatenated ``attn.hook_z``) read
by head, after Kissane et al. 2024 (arXiv 2406.17759). Streaming: the shared pass gives
each latent's firing count (weights of latents that never fire mean nothing); ``finish``
does the weight-based attribution and one forward over a few streamed contexts for the DFA
examples. Any other SAE gets a skipped record at no cost. Loads no torch at import.

Example:
    >>> saebench.evaluate("zoo:attn-topk-16", model="zoo", evaluators=["head_attribution"])
"""

from __future__ import annotations

import re
import time

from saebench.evaluators import EvalContext, EvalResult, Evaluator, Needs, SaeBatch
from saebench.evaluators.head_attribution.config import (
    QUICKSTART_CONFIG,
    HeadAttributionConfig,
    HeadAttributionMetrics,
)

_HOOK_Z = re.compile(r"^blocks\.(\d+)\.attn\.hook_z$")


class HeadAttributionEvaluator(Evaluator):
    """Each latent's share of decoder norm per head, polysemantic heads, DFA by source.

    Example:
        >>> saebench.evaluate("zoo:attn-topk-16", model="zoo", evaluators=["head_attribution"])
    """

    version = "1"
    description = "attention-output SAEs by head: decoder-norm shares, polysemantic heads, DFA"
    Config = HeadAttributionConfig
    Metrics = HeadAttributionMetrics
    main_metric = "polysemantic_head_fraction"
    headline = ("polysemantic_head_fraction", "single_head_latent_fraction", "mean_max_head_share")
    needs = Needs(activations=True, model_runner=True)
    quickstart = QUICKSTART_CONFIG

    def __init__(self, config: HeadAttributionConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.reason = skip_reason(context.sae.meta, _n_heads(context))
        self.fires = None

    def update(self, batch: SaeBatch) -> None:
        if self.reason is not None:
            return
        import torch

        fires = torch.count_nonzero(batch.codes, dim=0)
        self.fires = fires if self.fires is None else self.fires + fires

    def finish(self) -> EvalResult:
        if self.reason is not None:
            return EvalResult.skipped(HeadAttributionMetrics, self.reason)
        from saebench.evaluators.head_attribution.examples import capture, examples
        from saebench.evaluators.head_attribution.run import result

        began = time.process_time()
        cfg, context, sae = self.config, self.context, self.context.sae
        found = []
        if cfg.dfa_prompts and context.token_set is not None and context.runner is not None:
            captured = context.once(
                "dfa_capture",
                lambda: capture(context, sae.meta.hook_name, cfg.dfa_prompts, cfg.dfa_max_tokens),
                site=sae.meta.hook_name,
            )
            found = examples(cfg, sae, captured, _to_str(context))
        fires = self.fires.cpu().numpy() if self.fires is not None else _no_fires(sae)
        out = result(cfg, sae, fires, _n_heads(context), found)
        out.details["status"] = "complete"
        out.details["cpu_seconds"] = round(time.process_time() - began, 3)
        return out


def skip_reason(meta, n_heads: int | None) -> str | None:
    """Why an SAE cannot be read by head (None: it can)."""
    if meta.is_transcoder:
        return f"skipped: a transcoder ({meta.hook_name} -> {meta.output_hook}) is not read by head"
    if meta.hook_head_index is not None:
        return f"skipped: a one-head SAE ({meta.hook_name} head {meta.hook_head_index})"
    if not _HOOK_Z.match(meta.hook_name) or meta.reshape_activations != "hook_z":
        return f"skipped: reads {meta.hook_name}; head attribution needs concatenated attn.hook_z"
    if n_heads is None or meta.d_in % n_heads:
        return f"skipped: d_in {meta.d_in} does not split into the model's {n_heads} heads"
    return None


def _n_heads(context: EvalContext) -> int | None:
    model = context.model if context.model is not None else getattr(context.runner, "model", None)
    cfg = getattr(model, "cfg", None)
    return getattr(cfg, "n_heads", None)


def _to_str(context: EvalContext):
    tokenizer = getattr(context.model, "tokenizer", None)
    if tokenizer is None:
        return None
    return lambda token: tokenizer.decode([int(token)])


def _no_fires(sae):
    import numpy as np

    return np.zeros(sae.meta.d_sae, dtype=np.int64)
