"""k-sparse probing: can a few SAE latents tell a task attribute's values apart?

For every value ``v`` of every probed attribute ``a`` of a task, a balanced one-vs-rest
problem ("``a == v``" against the other values, the larger side subsampled, seeded) is
built on the task's train and test splits from the activation at one token of the prompt
(a named span's first or last token). On the train rows the ``k`` latents with the largest
``|mean(positives) - mean(negatives)|`` are selected and a logistic regression (features
standardised on the train rows, L2 penalty ``C = regularization_c``) is fitted on them; its
test accuracy and AUROC are reported for each ``k``. The same probes on the raw activations
(``k`` dimensions chosen the same way, and the full width) are the reference; they do not
depend on the SAE and are computed once per run and shared by its SAEs.

Scores are averaged over an attribute's values, then over attributes. This module loads no
torch; the work is in :mod:`.run` (model capture in :mod:`.capture`, probes on arrays in
:mod:`.probes`). ``docs/evaluators/sparse_probing.md`` has the definitions and the zoo's
figures.

Example:
    >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo",
    ...                             evaluators=["sparse_probing"],
    ...                             configs={"sparse_probing": {"attributes": ["continent"]}})
    >>> records[0].metrics["sae_accuracy_k1"], records[0].metrics["raw_accuracy_full"]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, create_model, field_validator

from saebench.errors import SaebenchError
from saebench.evaluators import (
    EvalConfig,
    EvalContext,
    EvalMetrics,
    EvalResult,
    Evaluator,
    Needs,
    TaskRequest,
    metric,
)

# The k a config may ask for (each has its metrics fields).
K_CHOICES = (1, 2, 5, 10, 20, 50)

# Where and what to probe on the built-in tasks when the config does not say: the token
# whose activation carries the attribute, and the attributes that are probing targets (the
# zoo cities' ``city`` names the entity itself, one value per few prompts: not a target).
TASK_DEFAULTS: dict[str, tuple[str, list[str]]] = {
    "zoo-cities": ("entity", ["country", "continent", "language"]),
    "zoo-ioi": ("end", ["io", "s", "order"]),
}

# Settings for `saebench quickstart`: all 14 zoo SAEs in a few CPU seconds. The cities'
# country prompts only (the entity comes before the relation's words, so the other
# relations' prompts add contexts, not information), one phrasing per kind (so at most 4
# train cities, 8 examples, per country: min_examples 6), the six most frequent values of
# each attribute, at most 100 examples per class, k = 1 and 5, no full-width probes.
QUICKSTART_CONFIG: dict[str, Any] = {
    "task_config": {"relations": ["country"], "per_kind": 1},
    "k": [1, 5],
    "min_examples": 6,
    "max_values": 6,
    "max_examples": 100,
    "full_width": False,
}


class SparseProbingConfig(EvalConfig):
    """Which task, token and attributes are probed, and how.

    Example:
        >>> SparseProbingConfig(task="zoo-ioi", task_config={"n": 3000}, attributes=["order"])
    """

    task: str = "zoo-cities"  # a registered task (`saebench tasks list`)
    task_config: dict[str, Any] = {}  # its config (`saebench tasks show NAME`)
    # the span whose token is probed; None: the task's default (TASK_DEFAULTS), or its only span
    position: str | None = None
    token: Literal["first", "last"] = "last"  # which token of a multi-token span
    # the attributes probed; None: the task's default, or every attribute of a user task
    attributes: list[str] | None = None
    k: list[int] = [1, 2, 5, 20]  # numbers of latents (and raw dimensions) per probe
    train_split: str = "train"
    test_split: str = "test"
    # a value is probed when it has at least this many positive and negative distinct
    # examples in each split (else it is skipped and counted)
    min_examples: int = Field(10, ge=2)
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
    for source, what in (("sae", "SAE latents"), ("raw", "raw activation dimensions")):
        widths: list[int | str] = [*K_CHOICES, "full"]
        for width in widths:
            suffix = f"k{width}" if width != "full" else "full"
            chosen = f"the {width} {what} of largest |mean difference|"
            if width == "full":
                chosen = f"every one of the {what}"
            for score, name in (("accuracy", "test accuracy"), ("auroc", "test AUROC")):
                description = f"{name} of one-vs-rest probes on {chosen}, mean over values"
                fields[f"{source}_{score}_{suffix}"] = (
                    float | None,
                    metric(description + " then attributes", True),
                )
    fields["n_values_probed"] = (float, metric("attribute values probed", None, 0.0))
    fields["n_values_skipped"] = (
        float,
        metric("attribute values not probed (too few examples, or over max_values)", None, 0.0),
    )
    return fields


SparseProbingMetrics = create_model(
    "SparseProbingMetrics", __base__=EvalMetrics, **_metrics_fields()
)
SparseProbingMetrics.__doc__ = (
    "Accuracy and AUROC per k for the SAE's latents and the raw activations "
    "(None for a k not asked for)."
)


class SparseProbingEvaluator(Evaluator):
    """Top-k sparse probes on SAE latents for a task's attributes, beside the raw activations.

    Example:
        >>> saebench.evaluate("zoo:resid-topk-16", model="zoo", evaluators=["sparse_probing"],
        ...                   configs={"sparse_probing": {"task": "zoo-cities"}})
    """

    version = "1"
    description = "k-sparse probes (latents of largest mean difference) for task attributes"
    Config = SparseProbingConfig
    Metrics = SparseProbingMetrics
    main_metric = "sae_accuracy_k1"
    headline = ("sae_accuracy_k1", "sae_accuracy_k5", "raw_accuracy_k1", "raw_accuracy_full")
    needs = Needs(activations=False, model_runner=True, task=TaskRequest(name="zoo-cities"))
    quickstart = QUICKSTART_CONFIG

    @classmethod
    def needs_for(cls, config: SparseProbingConfig) -> Needs:
        return Needs(
            activations=False,
            model_runner=True,
            task=TaskRequest(name=config.task, config=config.task_config),
        )

    def __init__(self, config: SparseProbingConfig, context: EvalContext) -> None:
        super().__init__(config, context)
        self.position: str | None = None
        self.attributes: list[str] = []
        if context.task is not None:
            self.position, self.attributes = resolve_targets(config, context.task)

    def finish(self) -> EvalResult:
        if self.context.task is None or self.context.runner is None:
            raise SaebenchError("sparse_probing needs a task and a model runner (run it via plan)")
        from saebench.evaluators.sparse_probing.run import probe_sae

        return probe_sae(self, self.position, self.attributes)


def resolve_targets(config: SparseProbingConfig, task) -> tuple[str, list[str]]:
    """The span and the attributes to probe on ``task``, checked against what it has."""
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
    default_span, default_attributes = TASK_DEFAULTS.get(task.name, (None, None))
    position = config.position or default_span or (spans[0] if len(spans) == 1 else None)
    if position is None:
        raise SaebenchError(
            f"sparse_probing: task {name!r} names spans {', '.join(spans) or 'none'}; "
            "choose the probed one with position=NAME"
        )
    if position not in spans:
        raise SaebenchError(
            f"sparse_probing: task {name!r} has no span {position!r} (spans: "
            f"{', '.join(spans)}); set position to one of them"
        )
    known = task.attribute_values()
    attributes = config.attributes or default_attributes or sorted(known)
    if unknown := sorted(set(attributes) - set(known)):
        raise SaebenchError(
            f"sparse_probing: task {name!r} has no attribute {', '.join(unknown)} (attributes: "
            f"{', '.join(sorted(known))}); fix attributes"
        )
    return position, list(dict.fromkeys(attributes))
