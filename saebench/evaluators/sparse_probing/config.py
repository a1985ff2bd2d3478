"""The ``sparse_probing`` evaluator's config and metrics: a torch-free leaf that the rest of
the package (and a CLI listing evaluators) imports without loading the work.

Example:
    >>> from saebench.evaluators.sparse_probing.config import QUICKSTART_CONFIG, SparseProbingConfig
    >>> SparseProbingConfig(**QUICKSTART_CONFIG).k
    [1, 5]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, create_model, field_validator

from saebench.errors import SaebenchError
from saebench.evaluators import EvalConfig, EvalMetrics, metric
from saebench.toolkit.sites import Position

# The k a config may ask for (each has its metrics fields).
K_CHOICES = (1, 2, 5, 10, 20, 50)

# Where and what to probe on the built-in tasks when the config does not say: the token
# whose activation carries the attribute, and the attributes that are probing targets (the
# zoo cities' ``city`` names the entity itself, one value per few prompts: not a target).
# The third item is the attribute naming each prompt's entity: examples are counted, and
# intervals resampled, by entity (a city asked in eight phrasings is one city); None: by row.
TASK_DEFAULTS: dict[str, tuple[str, list[str], str | None]] = {
    "zoo-cities": ("entity", ["country", "continent", "language"], "city"),
    "zoo-ioi": ("end", ["io", "s", "order"], None),
}

# Settings for `saebench quickstart`: the cities' country prompts only (the entity comes
# before the relation's words, so the other relations' prompts add contexts, not
# information), one phrasing per kind; continent and language (a country has at most 4
# cities per split, too few entities to probe), their six most frequent values, at most
# 200 examples per class, k = 1 and 5, no full-width probes. The test split has 517 cities,
# which bounds the precision: half-width of sae_accuracy_k1 about 0.025 over entities
# (docs/evaluators/sparse_probing.md, "Quickstart sizes").
QUICKSTART_CONFIG: dict[str, Any] = {
    "task_config": {"relations": ["country"], "per_kind": 1},
    "attributes": ["continent", "language"],
    "k": [1, 5],
    "min_examples": 10,
    "max_values": 6,
    "max_examples": 200,
    "full_width": False,
}


class SparseProbingConfig(EvalConfig):
    """Which task, token and attributes are probed, and how.

    Example:
        >>> SparseProbingConfig(task="zoo-ioi", task_config={"n": 3000}, attributes=["order"])
    """

    task: str = "zoo-cities"  # a registered task (`saebench tasks list`)
    task_config: dict[str, Any] = {}  # its config (`saebench tasks show NAME`)
    # the span whose token is probed, or "last" (each prompt's last token); None: the task's
    # default (TASK_DEFAULTS), or its only span
    position: str | None = None
    token: Literal["first", "last"] = "last"  # which token of a multi-token span
    # the attributes probed; None: the task's default, or every attribute of a user task
    attributes: list[str] | None = None
    k: list[int] = [1, 2, 5, 20]  # numbers of latents (and raw dimensions) per probe
    train_split: str = "train"
    test_split: str = "test"
    # the attribute naming each prompt's entity (examples and interval units are entities);
    # None: the task's default (zoo-cities: city), else every distinct prompt is its own
    entity: str | None = None
    # a value is probed when it has at least this many positive and negative distinct
    # examples (entities where there are entities) in each split (else skipped and counted)
    min_examples: int = Field(10, ge=2)
    # a probe whose balanced test set has fewer rows is skipped and counted: its accuracy
    # moves by 1/rows per row (16 rows: 0.06), more than the differences between SAEs
    min_test_rows: int = Field(20, ge=2)
    max_examples: int | None = Field(1000, ge=2)  # per class and split, None: all
    max_values: int | None = Field(None, ge=1)  # per attribute, the most frequent first
    full_width: bool = True  # also a probe on every latent / every raw dimension
    regularization_c: float = Field(1.0, gt=0)  # inverse L2 strength on standardised features
    seed: int = 0

    @field_validator("k")
    @classmethod
    def _check_k(cls, value: list[int]) -> list[int]:
        bad = sorted(set(value) - set(K_CHOICES))
        if bad or 1 not in value:
            raise ValueError(
                f"k must be some of {list(K_CHOICES)} and include 1 (the main metric), got {value}"
            )
        return sorted(set(value))


def _metrics_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    widths: list[int | str] = [*K_CHOICES, "full"]
    for width in widths:
        suffix = f"k{width}" if width != "full" else "full"
        chosen = f"the {width} latents of largest standardised mean difference"
        if width == "full":
            chosen = "every latent"
        for score, name in (("accuracy", "test accuracy"), ("auroc", "test AUROC")):
            description = f"{name} of one-vs-rest probes on {chosen}, mean over values"
            fields[f"sae_{score}_{suffix}"] = (
                float | None,
                metric(description + " then attributes", True),
            )
    fields["n_values_probed"] = (float, metric("attribute values probed", None, 0.0))
    fields["n_values_skipped"] = (
        float,
        metric(
            "attribute values not probed (too few examples or test rows, or over max_values)",
            None,
            0.0,
        ),
    )
    return fields


class _PerAttribute(EvalMetrics):
    # per-attribute accuracies (``sae_accuracy_k1_country``) are metrics too; their names
    # depend on the task, so they are extra fields
    model_config = ConfigDict(extra="allow")


SparseProbingMetrics = create_model(
    "SparseProbingMetrics", __base__=_PerAttribute, **_metrics_fields()
)
SparseProbingMetrics.__doc__ = (
    "Accuracy and AUROC per k of probes on the dictionary's latents (None for a k not asked "
    "for), and per attribute ``sae_accuracy_k{K}_{attribute}``. The raw-activation probes are "
    "the reference ``raw_activations`` (a record of its own, the same metric names)."
)


def resolve_targets(config: SparseProbingConfig, task) -> tuple[str, list[str], str | None]:
    """The span, the attributes to probe and the entity attribute on ``task``, checked
    against what it has."""
    name = config.task
    for split in (config.train_split, config.test_split):
        if split not in task.splits:
            raise SaebenchError(
                f"sparse_probing: task {name!r} has no split {split!r} (splits: "
                f"{', '.join(task.splits)}); set train_split/test_split"
            )
    prompts = task.prompts(config.train_split)
    if not prompts:
        raise SaebenchError(f"sparse_probing: task {name!r} has no {config.train_split} prompts")
    spans = sorted(prompts[0].spans)
    default_span, default_attributes, default_entity = TASK_DEFAULTS.get(
        task.name, (None, None, None)
    )
    position = config.position or default_span or (spans[0] if len(spans) == 1 else None)
    if position is None:
        raise SaebenchError(
            f"sparse_probing: task {name!r} names spans {', '.join(spans) or 'none'}; "
            "choose the probed one with position=NAME"
        )
    Position(position, config.token).check(prompts, f"sparse_probing: task {name!r}")
    known = task.attribute_values()
    attributes = config.attributes or default_attributes or sorted(known)
    if unknown := sorted(set(attributes) - set(known)):
        raise SaebenchError(
            f"sparse_probing: task {name!r} has no attribute {', '.join(unknown)} (attributes: "
            f"{', '.join(sorted(known))}); fix attributes"
        )
    entity = config.entity or default_entity
    if entity is not None and entity not in known:
        raise SaebenchError(
            f"sparse_probing: task {name!r} has no attribute {entity!r} to name entities "
            f"(attributes: {', '.join(sorted(known))}); fix entity"
        )
    return position, list(dict.fromkeys(attributes)), entity
