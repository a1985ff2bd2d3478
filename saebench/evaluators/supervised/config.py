"""The ``supervised`` evaluator's config and metrics: a torch-free leaf that the rest of the
package (and a CLI listing evaluators) imports without loading the work.

Example:
    >>> from saebench.evaluators.supervised.config import SupervisedConfig, QUICKSTART_CONFIG
    >>> SupervisedConfig(**QUICKSTART_CONFIG).aware_sizes
    [1, 4]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from saebench.evaluators import EvalConfig, EvalMetrics, metric


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
    # the rule keeping the prompts the model answers (saebench.toolkit.answers)
    filter: Literal["greedy", "rank"] = "greedy"
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
