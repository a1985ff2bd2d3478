"""The ``circuits`` plug-in: a panel over one SAE per attention head. Loads no torch (the
work is in :mod:`.run`)."""

from __future__ import annotations

import re

from saebench.evaluators import EvalContext, EvalResult, Needs, PanelEvaluator, TaskRequest
from saebench.evaluators.circuits.config import CircuitsConfig, CircuitsMetrics

_HOOK_Z = re.compile(r"^blocks\.\d+\.attn\.hook_z$")


def reads_one_head(meta) -> bool:
    """Whether an SAE reads one head's ``hook_z`` (the SAEs this evaluator scores)."""
    return (
        meta.hook_head_index is not None
        and bool(_HOOK_Z.match(meta.hook_name))
        and not meta.is_transcoder
    )


class CircuitsEvaluator(PanelEvaluator):
    """Circuit discovery from discrete SAE codes (O'Neill and Bui 2024): node and edge
    ROC-AUC against the model's own IOI circuit, beside random codes of the same frequencies.

    The panel is every per-head ``hook_z`` SAE of one family (same architecture and width)
    across all layers; other SAEs join no panel of it (the run says so once, at no cost).

    Example:
        >>> heads = [f"zoo:heads-relu-L{l}H{h}" for l in range(4) for h in range(4)]
        >>> saebench.evaluate(heads, model="zoo", evaluators=["circuits"])[-1].metrics["node_auc"]
    """

    version = "1"
    description = "circuits from discrete per-head SAE codes: node/edge AUC vs the IOI circuit"
    Config = CircuitsConfig
    Metrics = CircuitsMetrics
    main_metric = "node_auc"
    headline = ("node_auc", "edge_auc", "random_node_auc", "node_best_f1")
    needs = Needs(activations=False, model_runner=True, task=TaskRequest(name="zoo-ioi"))
    panel_reads = "per-head attn.hook_z SAEs"
    quickstart = {"n_prompts": 100, "n_random": 50, "n_resamples": 100}

    @classmethod
    def needs_for(cls, config: CircuitsConfig) -> Needs:
        task = TaskRequest(name=config.task, config=config.task_config)
        return Needs(activations=False, model_runner=True, task=task)

    @classmethod
    def panel_site(cls, meta) -> str | None:
        # one panel per family of head SAEs across every layer; no panel for other SAEs
        if reads_one_head(meta):
            return f"attn.hook_z.heads.{meta.architecture}-{meta.d_sae}"
        return None

    def evaluate_panel(self, saes: list, context: EvalContext) -> EvalResult:
        reason = skip_reason(saes)
        if reason is not None:
            return EvalResult.skipped(CircuitsMetrics, reason)
        from saebench.evaluators.circuits.run import evaluate_circuits

        return evaluate_circuits(saes, self.config, context)


def skip_reason(saes: list) -> str | None:
    """Why the panel cannot be scored, or None (its members all read one head each:
    ``panel_site`` admits no other SAE)."""
    heads = [(s.meta.hook_name, s.meta.hook_head_index) for s in saes]
    if len(set(heads)) < len(heads):
        return "skipped: two SAEs of this family read the same head; give one SAE per head"
    return None
