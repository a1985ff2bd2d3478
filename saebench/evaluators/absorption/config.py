"""The ``absorption`` evaluator's config and metrics: a torch-free leaf.

Defaults are SAEBench's (``sae_bench/evals/absorption/eval_config.py`` of sae-bench 0.6.0)
except where a comment says otherwise.

Example:
    >>> from saebench.evaluators.absorption.config import AbsorptionConfig, QUICKSTART_CONFIG
    >>> AbsorptionConfig(**QUICKSTART_CONFIG).max_k
    5
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from saebench.evaluators import EvalConfig, EvalMetrics, metric

# `saebench quickstart`: at most 600 train and 250 test words (the zoo has 1444 and 334),
# 6 examples per prompt (10 take 72 tokens, past the zoo model's context of 64), k up to 5.
# The zoo model was never taught spelling, so its probe fails the gate and each SAE's
# record is a skipped one: the quickstart pays for the capture and the probe, once per hook.
QUICKSTART_CONFIG: dict[str, Any] = {
    "task_config": {"max_words": 600, "n_icl": 6},
    "max_test_words": 250,
    "max_k": 5,
}


class AbsorptionConfig(EvalConfig):
    """The first-letter task, the probes and the gate.

    Example:
        >>> AbsorptionConfig(task_config={"max_words": 2000}, max_k=10)
    """

    # the `first-letter` task's config (`saebench tasks show first-letter`); its tokenizer
    # is always the model's own, whatever this names
    task_config: dict[str, Any] = {}
    # at most this many test words (a seeded sample; None: all the task gives)
    max_test_words: int | None = Field(None, ge=2)
    # ground-truth probe (SAEBench: batch 64, 50 epochs, Adam lr 1e-2 -> 1e-5, decay 1e-4)
    probe_epochs: int = Field(50, ge=1)
    probe_batch_size: int = Field(64, ge=1)
    probe_lr: float = Field(1e-2, gt=0)
    probe_weight_decay: float = Field(1e-4, ge=0)
    # the gate (SAEBench min_GT_probe_f1, min_feats_for_eval): a letter is measured when
    # its probe's test F1 exceeds min_probe_f1; below min_letters such letters the model is
    # taken not to know first letters and no absorption is published
    min_probe_f1: float = Field(0.6, ge=0, le=1)
    min_letters: int = Field(20, ge=1, le=26)
    # k-sparse probes on the latents (SAEBench: k = 1..10, L1 0.01, batch 4096, 50 epochs)
    max_k: int = Field(10, ge=1, le=50)
    f1_jump: float = Field(0.03, ge=0)
    sparse_l1: float = Field(0.01, ge=0)
    # not SAEBench's 4096: its ~100k train words make ~1,000 Adam steps in 50 epochs, a
    # few thousand words make 50 at 4096 and leave the L1 probe at its initialisation
    sparse_batch_size: int = Field(128, ge=1)
    sparse_epochs: int = Field(50, ge=1)
    # the null: a random dictionary of the SAE's width and (rounded) L0 run through the same
    # per-SAE steps (doubles the per-SAE cost)
    random_control: bool = True
    seed: int = 0


class AbsorptionMetrics(EvalMetrics):
    """SAEBench's three absorption numbers (lower is better for the first two), the
    legacy fraction the SAEBench paper plotted, and the ground-truth probe's quality."""

    mean_absorption_fraction: float | None = metric(
        "mean over letters of the mean absorption fraction of the probe's true positives "
        "(SAEBench mean_absorption_fraction_score, PR 62 definition)",
        False,
    )
    mean_full_absorption: float | None = metric(
        "mean over letters of the full-absorption rate (SAEBench mean_full_absorption_score)",
        False,
    )
    mean_num_split_latents: float | None = metric(
        "mean over letters of the number of main (split) latents (SAEBench "
        "mean_num_split_features)",
        None,
    )
    mean_absorption_fraction_legacy: float | None = metric(
        "the absorption fraction as sae-bench 0.3.2 (PR 48) defined it, the one the SAEBench "
        "paper plotted as 1 - x",
        False,
    )
    probe_accuracy: float | None = metric(
        "26-way test accuracy of the ground-truth probe (argmax over letters)", True
    )
    probe_mean_f1: float | None = metric(
        "mean over letters of the ground-truth probe's one-vs-rest test F1", True
    )
    n_letters_measured: float | None = metric(
        "letters whose probe F1 exceeds min_probe_f1 and that have a true positive", None
    )
