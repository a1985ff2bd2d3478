"""Config and metrics of the ``circuits`` panel evaluator (no torch here).

Example:
    >>> CircuitsConfig(position="s2", n_prompts=100).position
    's2'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from saebench.evaluators import EvalConfig, EvalMetrics, metric


class CircuitsConfig(EvalConfig):
    """Which IOI task and prompts, where each head's code is read, and how much resampling.

    Example:
        >>> CircuitsConfig(task="smollm2-ioi", n_prompts=100)
    """

    task: str = "zoo-ioi"  # an IOI task: answer = indirect object, attributes["s"] = subject
    task_config: dict[str, Any] = {}  # its config (`saebench tasks show NAME`)
    split: str = "test"
    n_prompts: int = Field(200, ge=2)  # IOI prompts asked for (those the model answers count)
    # the token whose head output gives the code: a span's last token, or "mean" (the mean
    # over the prompt's real tokens, as the reference's position="mean")
    position: Literal["mean", "end", "s2", "io", "s1"] = "mean"
    normalise: bool = False  # node and pair scores over the distinct codes seen (reference option)
    # a head is in the reference circuit when its mean-ablation moves the logit difference by
    # at least this fraction of the clean one
    circuit_threshold: float = Field(0.05, gt=0)
    n_random: int = Field(200, ge=1)  # draws of the random-code baseline
    n_resamples: int = Field(200, ge=10)  # bootstrap resamples over prompt pairs
    seed: int = 0


class CircuitsMetrics(EvalMetrics):
    node_auc: float | None = metric("ROC-AUC of node scores against the reference circuit", True)
    edge_auc: float | None = metric("ROC-AUC of edge (co-occurrence) scores against it", True)
    node_best_f1: float | None = metric("best F1 over thresholds of the node scores", True)
    edge_best_f1: float | None = metric("best F1 over thresholds of the edge scores", True)
    random_node_auc: float | None = metric(
        "node_auc of random codes with each head's code frequencies (mean over draws)", None
    )
    random_edge_auc: float | None = metric("edge_auc of the same random codes", None)
    circuit_faithfulness: float | None = metric(
        "logit difference with only the reference circuit's heads kept, over the clean one", None
    )
    n_heads: float | None = metric("heads with an SAE in the panel (the heads scored)", None)
    n_circuit_heads: float | None = metric("of those, heads in the reference circuit", None)
    n_pairs: float | None = metric("positive (IOI) / negative (ABC) prompt pairs", None)
