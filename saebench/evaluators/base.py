"""The evaluator plug-in protocol.

An evaluator is a class with a version, a typed config (``Config``) with documented
defaults, a typed metrics model (``Metrics``) whose fields say whether higher is better, a
main metric, and what it needs from the run (``needs``). It is named once, by its entry
point in the ``saebench.evaluators`` group of its package (``mean_l0 = "mypkg.l0:MeanL0"``),
which sets ``MeanL0.name``; code without a package registers it with
:func:`register_evaluator`. Streaming evaluators see every batch of the shared activation
pass through ``update`` and return their metrics from ``finish``; evaluators that intervene
in the model or need a labelled task do their work in ``finish`` through the context's
:class:`ModelRunner`. Plug-ins import all of this from :mod:`saebench.evaluators`.

Nothing here imports torch: tensors appear in annotations only, so listing evaluators and
reading their configs stays light.

Example:
    >>> from saebench.evaluators import EvalConfig, EvalMetrics, EvalResult, Evaluator, metric
    >>> class MeanL0(Evaluator):
    ...     version = "1"
    ...     Config = EvalConfig
    ...     class Metrics(EvalMetrics):
    ...         l0: float = metric("mean active latents per token", higher_is_better=None)
    ...     main_metric = "l0"
    ...     def __init__(self, config, context):
    ...         super().__init__(config, context); self.total = 0.0; self.n = 0
    ...     def update(self, batch):
    ...         self.total += float((batch.codes != 0).sum()); self.n += batch.codes.shape[0]
    ...     def finish(self):
    ...         return EvalResult(metrics=self.Metrics(l0=self.total / self.n))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from saebench.registry import evaluators

if TYPE_CHECKING:
    from torch import Tensor


class EvalConfig(BaseModel):
    """Base of every evaluator config: plain typed fields, ``None`` for "not set"."""

    model_config = ConfigDict(extra="forbid")


class EvalMetrics(BaseModel):
    """Base of every metrics model: flat floats, each declared with :func:`metric`."""

    model_config = ConfigDict(extra="forbid")


class TaskRequest(BaseModel):
    """A labelled prompt task an evaluator runs on: a registered task name and its config
    (``saebench tasks list``); the planner builds it and puts its identity in the key."""

    name: str
    config: dict[str, Any] = Field(default_factory=dict)


class Needs(BaseModel):
    """What an evaluator asks of the run, so the planner can provide it once for all."""

    activations: bool = True  # streamed batches of the SAE's input (and output) hook
    downstream: bool = False  # per-token CE and KL of clean, spliced and zero-ablated runs
    # how the zero-ablated baseline of ``downstream`` is made: the hook (or the SAE's head)
    # zeroed at every position (SAELens), or only where tokens are counted
    zero_ablation: Literal["every_position", "counted_positions"] = "every_position"
    passes: int = 1  # streamed passes over the same tokens (2 when ranges must be known)
    model_runner: bool = False  # interventions in ``finish`` through context.runner
    task: TaskRequest | None = None  # a labelled prompt task, given as context.task
    llm: bool = False  # an OpenAI-compatible server


def metric(description: str, higher_is_better: bool | None, default: Any = None) -> Any:
    """A metrics field with its direction (None: no better side, e.g. L0)."""
    return Field(
        default, description=description, json_schema_extra={"higher_is_better": higher_is_better}
    )


@dataclass
class Downstream:
    """Per-position losses of one batch for one SAE (float32, nats), at every position:
    the evaluator chooses which positions count (its ``tokens`` and ``mask`` say which are
    special). The splice keeps special positions clean."""

    ce_clean: Tensor  # [batch, pos-1] next-token CE of the model as is
    ce_spliced: Tensor  # [batch, pos-1] with the SAE's reconstruction spliced in
    ce_zero: Tensor  # [batch, pos-1] with the hook zero-ablated
    kl_spliced: Tensor  # [batch, pos] KL(clean || spliced) of the next-token distribution
    kl_zero: Tensor  # [batch, pos] KL(clean || zero-ablated)


@dataclass
class SaeBatch:
    """One batch of the shared pass as one SAE sees it; rows are the counted tokens only.

    ``x`` is the SAE input and ``target`` what it should reconstruct (the same tensor for
    an SAE, the output hook's activation for a transcoder), both in the SAE's dtype.
    """

    sae: Any
    tokens: Tensor  # [batch, pos]
    mask: Tensor  # [batch, pos] bool: which positions the rows below come from
    x: Tensor  # [n, d_in]
    target: Tensor  # [n, d_out]
    codes: Tensor  # [n, d_sae]
    x_hat: Tensor  # [n, d_out]
    downstream: Downstream | None = None
    pass_index: int = 0
    batch_index: int = 0
    context_start: int = 0  # index of this batch's first context in the token set

    def decode(self, codes: Tensor) -> Tensor:
        """Decode other codes for these same rows (e.g. quantised codes)."""
        return self.sae.decode(codes, self.x)

    def row_places(self) -> tuple[Tensor, Tensor]:
        """(context index in the token set, position in the context) of every row."""
        contexts, positions = self.mask.nonzero(as_tuple=True)
        return contexts + self.context_start, positions


@dataclass
class EvalContext:
    """What an evaluator may use besides batches."""

    sae: Any
    model: Any = None
    runner: Any = None
    token_set: Any = None  # the streamed token set (None for an evaluator that streams none)
    task: Any = None  # the built task of ``Needs.task`` (a saebench.tasks.Task)
    device: str = "cpu"
    llm: Any = None  # a saebench.llm.LlmClient for an evaluator whose needs ask for one
    extras: dict[str, Any] = field(default_factory=dict)
    # One dict for every evaluator of a run: work that does not depend on the SAE (a
    # statistic of the hook's activations, say) is done once and found here by the others.
    shared: dict[Any, Any] = field(default_factory=dict)


@dataclass
class EvalResult:
    metrics: EvalMetrics
    details: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, list[float]] = field(default_factory=dict)


class Evaluator:
    name: ClassVar[str] = ""  # set from the entry point (or register_evaluator) on loading
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    Config: ClassVar[type[EvalConfig]] = EvalConfig
    Metrics: ClassVar[type[EvalMetrics]]
    main_metric: ClassVar[str]
    # metrics a leaderboard shows for this evaluator (empty: the main metric only)
    headline: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[Needs] = Needs()
    # reference methods the evaluator measures beside the SAE (RAVEL's neurons and DAS, say),
    # each named with the metric that holds its value of the main metric; a leaderboard
    # shows them as rows of their own
    references: ClassVar[dict[str, str]] = {}
    # config values for ``saebench quickstart`` (smaller counts, so the whole zoo runs fast)
    quickstart: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: EvalConfig, context: EvalContext) -> None:
        self.config = config
        self.context = context

    @classmethod
    def needs_for(cls, config: EvalConfig) -> Needs:
        """Needs may depend on the config (CE/KL can be switched off)."""
        return cls.needs

    def update(self, batch: SaeBatch) -> None:
        """Accumulate one batch (streaming evaluators)."""

    def finish(self) -> EvalResult:
        raise NotImplementedError

    @classmethod
    def directions(cls) -> dict[str, bool | None]:
        """Whether higher is better, per metric."""
        out = {}
        for name, info in cls.Metrics.model_fields.items():
            extra = info.json_schema_extra or {}
            out[name] = extra.get("higher_is_better") if isinstance(extra, dict) else None
        return out


def register_evaluator(name: str):
    """Class decorator for an evaluator without a package: runnable as ``--evals name``.

    A package declares an entry point instead and uses no decorator; the entry point's
    name becomes the evaluator's ``name``.

    Example:
        >>> @register_evaluator("mean_l0")
        ... class MeanL0(Evaluator): ...
    """
    return evaluators.decorator(name)


def get_evaluator(name: str) -> type[Evaluator]:
    return evaluators.get(name)
