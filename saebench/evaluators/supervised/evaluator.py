"""The ``supervised`` evaluator: an SAE against the supervised feature dictionary of a
labelled task (Makelov, Lange & Nanda 2024, arXiv 2405.08366) on three axes, approximation,
control and interpretability, at the SAE's hook and one task position.

What does not depend on the SAE (the prompts the model answers, the supervised dictionary,
the baselines neurons / PCA / random and their scores) is computed once per (hook, task,
position, config) and shared by the run's SAEs through ``context.shared``. This module
loads no torch; the work is in the sibling modules, imported in :meth:`finish`.

Example:
    >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo", dataset="zoo",
    ...                             evaluators=["supervised"],
    ...                             configs={"supervised": {"position": "end"}})
    >>> records[0].metrics["edit_accuracy_aware"], records[0].intervals["edit_accuracy_aware"]
    >>> [r.sae.uri for r in records[1:]]   # reference:supervised/supervised@..., neurons, ...
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, field_validator

from saebench.errors import SaebenchError
from saebench.evaluators import (
    EvalConfig,
    EvalMetrics,
    EvalResult,
    Evaluator,
    Needs,
    TaskRequest,
    metric,
)


class SupervisedConfig(EvalConfig):
    """Which task, position and dictionary, and how many prompts and edits.

    Example:
        >>> SupervisedConfig(position="s2", coupled=[["io", "order"], ["s", "order"]])
    """

    task: str = "zoo-ioi"  # a registered task (saebench tasks list)
    task_config: dict[str, Any] = Field(default_factory=dict)
    # a span name of the task's prompts, or "last" (each prompt's last token); None: the
    # span that ends the text (IOI: "end"), else the last token
    position: str | None = None
    attributes: list[str] | None = None  # None: every attribute of the prompts
    # attribute sets fitted as one dictionary over their joint value ("coupled")
    coupled: list[list[str]] = Field(default_factory=list)
    dictionary: Literal["mean", "least_squares"] = "mean"
    train_split: str = "train"
    eval_split: str = "test"
    n_train: int | None = None  # None: every training prompt the model answers
    n_eval: int | None = 400  # held-out prompts the model answers
    n_pairs: int = 200  # counterfactual pairs per builder (those that move the answer)
    edit_builders: list[str] | None = None  # None: every pair builder of the task
    metric_builder: str | None = None  # None: chosen by the rule of task_metric
    aware_sizes: list[int] = [1, 2, 4, 8]  # latents per side, interpretation-aware edits
    agnostic_sizes: list[int] = [2, 4, 8, 16]  # latents, interpretation-agnostic edits
    f1_threshold: float = 0.7
    min_value_count: int = 3  # values with fewer training prompts are not scored
    filter: Literal["greedy", "rank"] = "greedy"  # how prompts the model answers are kept
    baselines: list[Literal["neurons", "pca", "random"]] = ["neurons", "pca", "random"]
    batch_size: int = 64  # prompts per model call (changes no number)
    seed: int = 0

    @field_validator("aware_sizes", "agnostic_sizes")
    @classmethod
    def _sizes(cls, value: list[int]) -> list[int]:
        if not value or min(value) < 1:
            raise ValueError(f"needs at least one size, each >= 1, got {value}")
        return sorted(set(value))


# `saebench quickstart` (every zoo SAE): zoo-ioi at 1500 prompts per split, so most names
# have min_value_count training prompts and 261 pairs are scored (the 200-prompt preset of
# version 1 scored 34: one pair moved the main metric by 0.029); two builders, two sizes each.
# Measured on the zoo: half-widths 0.013-0.044 for edit_accuracy_aware (resid-topk-8, 0.146,
# is separated from every other SAE), 0.02-0.05 agnostic, 0.01-0.02 sufficiency; 383 CPU
# seconds for the 14 SAEs (docs/evaluators/supervised.md, "Quickstart sizes").
QUICKSTART_CONFIG: dict[str, Any] = {
    "task_config": {"n": 1500},
    "n_eval": 400,
    "n_pairs": 200,
    "edit_builders": ["change_s", "swap_io_s"],
    "aware_sizes": [1, 4],
    "agnostic_sizes": [4, 16],
}


def _m(description: str, better: bool | None) -> Any:
    return metric(description, better)


class SupervisedMetrics(EvalMetrics):
    """One dictionary's scores. The SAE's record and the reference records (the supervised
    dictionary, neurons, PCA, random) use these same names."""

    edit_accuracy_aware: float | None = _m(
        "top answer after the interpretation-aware edit = counterfactual's (size chosen on "
        "the other half of the pairs)",
        True,
    )
    edit_accuracy_agnostic: float | None = _m(
        "the same for the interpretation-agnostic edit (k chosen on the other half)", True
    )
    edit_accuracy_aware_normalised: float | None = _m(
        "edit_accuracy_aware over the supervised dictionary's edit accuracy on the same pairs",
        True,
    )
    edit_magnitude_aware: float | None = _m(
        "weight of the reconstruction the aware edit removes (at the chosen size)", None
    )
    edit_magnitude_agnostic: float | None = _m(
        "weight of the reconstruction the agnostic edit removes (at the chosen k)", None
    )
    edit_size_aware: float | None = _m("latents per side of the best aware edit, all pairs", None)
    edit_size_agnostic: float | None = _m("latents of the best agnostic edit, all pairs", None)
    sufficiency: float | None = _m(
        "task metric kept with the reconstruction, relative to mean ablation", True
    )
    necessity: float | None = _m(
        "share of mean ablation's effect from removing the reconstruction", True
    )
    mean_best_f1: float | None = _m("mean over attribute values of the best latent's F1", True)
    fraction_values_covered: float | None = _m(
        "fraction of attribute values with a latent of F1 >= f1_threshold", True
    )
    occluded_values: float | None = _m(
        "values whose best latent is about a stronger attribute", False
    )
    oversplit_values: float | None = _m(
        "values covered only by several specific latents, each below the threshold", False
    )
    logit_diff_clean: float | None = _m("mean task metric of the clean model", None)
    logit_diff_mean_ablated: float | None = _m("mean task metric, position mean-ablated", None)
    eval_prompts: float | None = _m("held-out prompts scored", None)
    edit_pairs: float | None = _m("counterfactual pairs edited (all builders)", None)


class SupervisedEvaluator(Evaluator):
    """An SAE against supervised feature dictionaries of a labelled task.

    The main metric is the interpretation-aware edit accuracy: it is the axis on which the
    supervised dictionary sets the standard (it edits by its own codes) and it needs both
    latents that match attribute values (interpretability) and a causal effect when those
    latents are swapped (control); reconstruction alone (sufficiency) is met by any exact
    basis, so it cannot say how close an SAE is to the supervised features.
    """

    # 2: intervals and nulls; references as records of their own; patched_is_real over the
    # scored pairs; edit sizes chosen on held-out pairs; only values with enough prompts
    version = "2"
    description = "approximation, control and interpretability against supervised dictionaries"
    Config = SupervisedConfig
    Metrics = SupervisedMetrics
    main_metric = "edit_accuracy_aware"
    headline = ("edit_accuracy_aware", "sufficiency", "mean_best_f1")
    quickstart = QUICKSTART_CONFIG

    @classmethod
    def needs_for(cls, config: SupervisedConfig) -> Needs:
        return Needs(
            activations=False,
            model_runner=True,
            task=TaskRequest(name=config.task, config=config.task_config),
        )

    def finish(self) -> EvalResult:
        sae, ctx = self.context.sae, self.context
        if ctx.task is None or ctx.runner is None:
            raise SaebenchError("supervised needs a task and a model runner (run it via evaluate)")
        reason = _unsupported(sae)
        if reason:
            return _skipped(reason)
        from saebench.evaluators.supervised.run import shared_part

        shared = shared_part(ctx.task, ctx.runner, self.config, sae.meta, ctx.shared)
        if shared["status"] != "ok":
            return _skipped(shared["status"])
        from saebench.evaluators.supervised.run import sae_result

        return sae_result(shared, sae, self.config)


def _unsupported(sae) -> str | None:
    meta = sae.meta
    if meta.output_hook and meta.output_hook != meta.hook_name:
        return (
            f"skipped: a transcoder ({meta.hook_name} -> {meta.output_hook}) has no "
            "reconstruction of its input hook to substitute"
        )
    return None


def _skipped(reason: str) -> EvalResult:
    return EvalResult(metrics=SupervisedMetrics(), details={"status": reason})


def shared_key(config: SupervisedConfig, meta) -> str:
    """What identifies the SAE-independent part of a run (hook, head and config)."""
    return json.dumps(
        ["supervised", meta.hook_name, meta.hook_head_index, config.model_dump(mode="json")],
        sort_keys=True,
    )
