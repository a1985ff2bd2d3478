"""The ``sae_probes`` evaluator's config and metrics: a torch-free leaf that the CLI (and
anything listing evaluators) imports without loading the work.

The grids are Kantamneni et al.'s (PyPI ``sae-probes`` 0.4.2, ``utils_data.py`` and
``run_sae_evals.py``); the defaults trim them so the default subset runs in minutes on 2
cores, and ``paper_grids: true`` takes them whole.

Example:
    >>> from saebench.evaluators.sae_probes.config import SaeProbesEvalConfig
    >>> SaeProbesEvalConfig(paper_grids=True).grids()["k"][-1]
    512
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, create_model, model_validator

from saebench.evaluators import EvalConfig, EvalMetrics, metric

# The paper's grids. k (PAPER_K): run_sae_evals' default for the normal setting. n_train:
# round(logspace(1, 10, 20, base 2)), unique. Imbalance: positive shares 0.05..0.95 by 0.05.
# Label noise: flipped shares 0..0.5 by 0.05 (utils_data.get_corrupt_frac).
PAPER_K = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
# the k a config may ask for: the paper's, and SAEBench's wrapper's 5 and the audit's 10
K_CHOICES = tuple(sorted({*PAPER_K, 5, 10}))
PAPER_N_TRAIN = (2, 3, 4, 5, 7, 10, 14, 20, 28, 38, 53, 74, 103, 143, 198, 275, 382, 531, 737, 1024)
PAPER_FRACTIONS = tuple(round(0.05 * i, 2) for i in range(1, 20))
PAPER_NOISE = tuple(round(0.05 * i, 2) for i in range(0, 11))
REGIMES = ("scarcity", "imbalance", "noise", "ood")
BASELINES = ("logreg", "pca", "knn")

# `saebench quickstart` runs on the zoo, whose word-level vocabulary reads no sae-probes
# text (75% of click_bait's tokens are <unk>) and whose own tasks have no binary attribute the
# last token carries (zoo-ioi's ABBA/BABA order: raw-activation AUC 0.52): its records say
# so and hold no numbers.
ZOO_SKIP = (
    "skipped: the zoo model's word-level vocabulary reads no sae-probes text; "
    "run sae_probes on a real model (--model smollm2-135m)"
)
QUICKSTART_CONFIG: dict[str, Any] = {"skip": ZOO_SKIP}


class SaeProbesEvalConfig(EvalConfig):
    """Which task is probed and how; every binary attribute of the task is one dataset.

    Example:
        >>> SaeProbesEvalConfig(task_config={"datasets": "all"}, regimes=["scarcity"])
    """

    task: str = "sae-probes"  # a registered task (`saebench tasks list`)
    task_config: dict[str, Any] = {}  # its config (`saebench tasks show NAME`)
    # the binary attributes probed ("datasets"); None: every binary attribute of the task
    datasets: list[str] | None = None
    # "standardised": latents ranked by standardised mean difference, probes fitted on
    # standardised features (this project's rule); "sae_probes": the package exactly
    # (mean-activation-normalised difference, probes on the raw codes)
    method: Literal["standardised", "sae_probes"] = "standardised"
    k: list[int] = [1, 2, 4, 8, 16]  # latents per probe (the paper's grid, trimmed)
    main_k: int = 16  # the k of the main metric and of the regimes
    regimes: list[Literal["scarcity", "imbalance", "noise", "ood"]] = list(REGIMES)
    n_train: list[int] = [16, 64, 256]  # scarcity: training rows (half positive)
    fractions: list[float] = [0.1, 0.9]  # imbalance: positive share of train
    noise: list[float] = [0.2]  # label noise: share of train labels flipped
    paper_grids: bool = False  # the paper's whole grids for k and every regime
    baselines: list[Literal["logreg", "pca", "knn"]] = list(BASELINES)
    max_train: int = Field(1024, ge=4)  # training rows per dataset (balanced), as the paper
    min_examples: int = Field(10, ge=2)  # per class and split, else the dataset is skipped
    permutation_null: bool = True  # one label-permuted refit per dataset at main_k
    seed: int = 42  # the package's default seed
    # a split whose tokens are more than this share unknown to the model's tokenizer is not
    # read (the record says skipped): the zoo's word-level vocabulary on sae-probes text
    max_unknown: float = Field(0.2, ge=0, le=1)
    # record this status instead of running (the quickstart's preset on the zoo)
    skip: str | None = None
    train_split: str = "train"
    test_split: str = "test"
    ood_split: str = "ood"

    @model_validator(mode="after")
    def _check(self) -> SaeProbesEvalConfig:
        bad = sorted(set(self.k) - set(K_CHOICES))
        if bad:
            raise ValueError(f"k must be some of {list(K_CHOICES)}, got {bad}")
        if self.main_k not in self.k:
            raise ValueError(f"main_k {self.main_k} must be one of k {sorted(self.k)}")
        if any(not 0 < f < 1 for f in self.fractions) or any(not 0 <= f <= 0.5 for f in self.noise):
            raise ValueError("fractions must be in (0, 1) and noise in [0, 0.5]")
        if any(n < 2 for n in self.n_train):
            raise ValueError("n_train values must be at least 2")
        return self

    def grids(self) -> dict[str, list]:
        """The k, n_train, fractions and noise grids this config runs."""
        if self.paper_grids:
            return {
                "k": list(PAPER_K),
                "n_train": list(PAPER_N_TRAIN),
                "fractions": list(PAPER_FRACTIONS),
                "noise": list(PAPER_NOISE),
            }
        return {
            "k": sorted(set(self.k)),
            "n_train": sorted(set(self.n_train)),
            "fractions": sorted(set(self.fractions)),
            "noise": sorted(set(self.noise)),
        }


def _metrics_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {
        "test_auc": (float | None, metric("test ROC-AUC at main_k, mean over datasets", True)),
        "test_accuracy": (
            float | None,
            metric("test accuracy at main_k, mean over datasets", True),
        ),
        "test_f1": (float | None, metric("test F1 (weighted) at main_k, mean over datasets", True)),
    }
    for k in K_CHOICES:
        for score, name in (("auc", "ROC-AUC"), ("accuracy", "accuracy"), ("f1", "F1")):
            fields[f"test_{score}_k{k}"] = (
                float | None,
                metric(
                    f"test {name} of L1 probes on the top {k} latents, mean over datasets", True
                ),
            )
    fields["test_auc_permuted"] = (
        float | None,
        metric("test AUC at main_k after permuting train labels (a null: ~0.5)", None),
    )
    for regime, what in (
        ("scarcity", "over the n_train grid"),
        ("imbalance", "over the positive-share grid"),
        ("noise", "over the label-noise grid"),
        ("ood", "on the out-of-distribution test files (datasets that ship one)"),
    ):
        fields[f"{regime}_auc"] = (
            float | None,
            metric(f"test AUC at main_k {what}, mean over datasets", True),
        )
    fields["n_datasets"] = (float, metric("datasets probed", None, 0.0))
    fields["n_datasets_skipped"] = (float, metric("datasets skipped (too few rows)", None, 0.0))
    return fields


SaeProbesMetrics = create_model("SaeProbesMetrics", __base__=EvalMetrics, **_metrics_fields())
SaeProbesMetrics.__doc__ = (
    "Test AUC, accuracy and F1 of k-sparse L1 probes (None for a k not run), the permuted-label "
    "null and each regime's mean AUC. The raw-activation probe and the dense baselines "
    "(logreg, pca, knn) are references, records of their own with the same names."
)
