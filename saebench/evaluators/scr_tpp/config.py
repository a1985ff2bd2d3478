"""Configs and metrics of ``scr`` and ``tpp``: a torch-free leaf (a CLI listing evaluators
imports it without loading the work).

Example:
    >>> from saebench.evaluators.scr_tpp.config import ScrConfig
    >>> ScrConfig().headline_n
    20
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from saebench.evaluators import EvalConfig, EvalMetrics, metric

# SAEBench's N grid (``n_values``): the numbers of latents ablated; each has its metrics.
N_CHOICES = (2, 5, 10, 20, 50, 100, 500)
# SAEBench's graphs take N as an argument; its paper's figures plot N = 20.
HEADLINE_N = 20
AUDIT_WARNING = (
    "Chanin 2026 (arXiv 2605.18229), an audit of SAEBench, finds SCR and TPP fail its "
    "validity checks at their canonical settings (TPP scores SAEs worse the longer they "
    "train; SCR anti-correlates with ground-truth quality at large N; a permuted decoder "
    "drops them to noise): reproduce SAEBench with them, do not rank SAEs by them."
)


class Pair(BaseModel):
    """One SCR run: probes for ``target`` (two values) biased by ``spurious`` (two values);
    the first value of each is SAEBench's positive class (professor, male)."""

    model_config = ConfigDict(extra="forbid")
    target: str
    target_values: tuple[str, str]
    spurious: str
    spurious_values: tuple[str, str]

    @property
    def name(self) -> str:
        t, s = self.target_values, self.spurious_values
        return f"{self.target}[{t[0]}|{t[1]}]~{self.spurious}[{s[0]}|{s[1]}]"


class ClassSet(BaseModel):
    """One TPP dataset: one-vs-rest probes for each value of ``attribute`` in ``values``."""

    model_config = ConfigDict(extra="forbid")
    attribute: str
    values: list[str] = Field(min_length=2)


_REVIEW_PAIRS = [
    Pair(
        target="source",
        target_values=pair,
        spurious="sentiment",
        spurious_values=("positive", "negative"),
    )
    for pair in (("yelp", "amazon"), ("yelp", "movie"), ("amazon", "movie"))
]
# Per built-in task: (span, pooling, SCR pairs, TPP class sets, task config).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "sae-probes-pairs": {
        "position": "text",
        "pooling": "mean",
        "pairs": [
            *_REVIEW_PAIRS,
            Pair(
                target="politician",
                target_values=("yes", "no"),
                spurious="gender",
                spurious_values=("male", "female"),
            ),
        ],
        "classes": [
            ClassSet(
                attribute="topic", values=["Politics", "Technology", "Entertainment", "Sport"]
            ),
            ClassSet(attribute="source", values=["yelp", "amazon", "movie"]),
        ],
    },
    "zoo-cities": {
        "position": "entity",
        "pooling": "last",
        # the spurious attribute is the prompt's carrier phrase (a tag): no carrier vs
        # "My teacher once told me that"
        "pairs": [
            Pair(
                target="continent",
                target_values=("Africa", "Europe"),
                spurious="carrier",
                spurious_values=("0", "3"),
            )
        ],
        "classes": [
            ClassSet(
                attribute="continent",
                values=["Africa", "Asia", "Europe", "North America", "South America"],
            )
        ],
    },
}


class _Common(EvalConfig):
    task: str = "sae-probes-pairs"  # a registered task (`saebench tasks list`)
    task_config: dict[str, Any] = {}
    position: str | None = None  # a span of the prompts, or "last"; None: the task's default
    pooling: Literal["mean", "first", "last"] | None = None  # over the span; None: default
    train_split: str = "train"
    test_split: str = "test"
    n_values: list[int] = list(N_CHOICES)
    headline_n: int = HEADLINE_N
    # SAEBench's probe: AdamW, batch 16, 20 epochs, L1 1e-3, the epoch of best *test*
    # accuracy ("best_test"; "last" keeps the last epoch instead)
    probe_epochs: int = Field(20, ge=1)
    probe_lr: float = Field(1e-3, gt=0)
    probe_batch_size: int = Field(16, ge=1)
    probe_l1: float = Field(1e-3, ge=0)
    early_stopping_patience: int = Field(20, ge=1)
    probe_pick: Literal["best_test", "last"] = "best_test"
    null_draws: int = Field(5, ge=0)  # random sets of N latents per ablation, for the null
    min_rows: int = Field(8, ge=2)  # a pair (quadrant) or class with fewer rows is skipped
    seed: int = 42  # SAEBench's random_seed

    @field_validator("n_values")
    @classmethod
    def _check_n(cls, value: list[int]) -> list[int]:
        if bad := sorted(set(value) - set(N_CHOICES)):
            raise ValueError(f"n_values must be some of {list(N_CHOICES)}, got {bad}")
        return sorted(set(value))

    @model_validator(mode="after")
    def _check_headline(self):
        if self.headline_n not in self.n_values:
            raise ValueError(f"headline_n {self.headline_n} must be one of n_values")
        return self


class ScrConfig(_Common):
    """SAEBench's SCR on a task's pairs of attributes (defaults: TASK_DEFAULTS)."""

    pairs: list[Pair] | None = None
    # rows per quadrant (target value x spurious value); SAEBench 4000 // 4 and 1000 // 4
    train_quadrant: int = Field(1000, ge=1)
    test_quadrant: int = Field(250, ge=1)


class TppConfig(_Common):
    """SAEBench's TPP on a task's multi-class attributes (defaults: TASK_DEFAULTS)."""

    classes: list[ClassSet] | None = None
    # rows per class; SAEBench 4000 // 2 and 1000 // 2
    train_per_class: int = Field(2000, ge=1)
    test_per_class: int = Field(500, ge=1)


QUICKSTART_SCR: dict[str, Any] = {
    "task": "zoo-cities",
    "task_config": {"relations": ["country"], "phrasings": ["seen"], "per_kind": 8},
    "train_quadrant": 120,
    "test_quadrant": 60,
    "n_values": [2, 5, 10, 20, 50],
    "probe_epochs": 20,
}
QUICKSTART_TPP: dict[str, Any] = {
    "task": "zoo-cities",
    "task_config": {"relations": ["country"], "phrasings": ["seen"], "per_kind": 1},
    "train_per_class": 120,
    "test_per_class": 60,
    "n_values": [2, 5, 10, 20, 50],
    "probe_epochs": 10,
}


def _fields(kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n in N_CHOICES:
        if kind == "scr":
            out[f"scr_metric_threshold_{n}"] = (
                float | None,
                metric(f"SCR with the top {n} latents ablated, SAEBench's chosen direction", True),
            )
            for d, what in ((1, "spurious latents ablated, target data"), (2, "the reverse")):
                out[f"scr_dir{d}_threshold_{n}"] = (
                    float | None,
                    metric(f"SCR direction {d} ({what}), top {n}", True),
                )
        else:
            out[f"tpp_threshold_{n}_total_metric"] = (
                float | None,
                metric(f"TPP: intended minus unintended accuracy drop, top {n}", True),
            )
            out[f"tpp_threshold_{n}_intended_diff_only"] = (
                float | None,
                metric(f"drop of the ablated class's probe, top {n}", True),
            )
            out[f"tpp_threshold_{n}_unintended_diff_only"] = (
                float | None,
                metric(f"mean drop of the other classes' probes, top {n}", False),
            )
    out["n_runs"] = (float, metric("pairs (SCR) or classes (TPP) scored", None, 0.0))
    out["n_skipped"] = (float, metric("pairs or classes skipped (too few rows)", None, 0.0))
    return out


ScrMetrics = create_model("ScrMetrics", __base__=EvalMetrics, **_fields("scr"))
ScrMetrics.__doc__ = "SAEBench's SCR metrics per N (None for an N not run)."
TppMetrics = create_model("TppMetrics", __base__=EvalMetrics, **_fields("tpp"))
TppMetrics.__doc__ = "SAEBench's TPP metrics per N (None for an N not run)."
