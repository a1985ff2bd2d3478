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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from saebench.records import Interval
from saebench.registry import evaluators

if TYPE_CHECKING:
    from torch import Tensor
    from transformer_lens import HookedTransformer

    from saebench.data.contexts import TokenSet
    from saebench.llm.client import LlmClient
    from saebench.models.interventions import ModelRunner
    from saebench.sae.base import Sae
    from saebench.tasks.base import Task


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
    ground_truth: bool = False  # the true feature coefficients of each row (a synthetic source)
    embeddings: bool = False  # sentence embeddings split into corpus and queries (embedding source)


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
    truth: Tensor | None = None  # [n, n_features] true coefficients (a synthetic source only)

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

    sae: Sae
    model: HookedTransformer | None = None
    runner: ModelRunner | None = None
    token_set: TokenSet | None = None  # the streamed token set (None: an evaluator streams none)
    task: Task | None = None  # the built task of ``Needs.task``
    device: str = "cpu"
    llm: LlmClient | None = None  # the judge of an evaluator whose needs ask for one
    extras: dict[str, Any] = field(default_factory=dict)
    # One dict for every evaluator of a run: work that does not depend on the SAE (a
    # statistic of the hook's activations, say) is done once and found here by the others.
    shared: dict[Any, Any] = field(default_factory=dict)
    # what the "once" cache is keyed by besides the call's own name and site: the evaluator
    # (name, version, config without its SAE-only fields), the source and the task; set by
    # the run for each (SAE, evaluator)
    identity: dict[str, Any] = field(default_factory=dict)
    # seconds each piece of once-per-run work took, by name (reported in the first record)
    once_seconds: dict[str, float] = field(default_factory=dict)

    def once(
        self,
        name: str,
        compute: Callable[[], Any],
        *,
        site: str | None = None,
        depends_on: Any = None,
    ) -> Any:
        """``compute()`` run once per run for every SAE and evaluator that share ``name``,
        ``site``, ``depends_on`` and this context's identity (source, task, evaluator config
        without SAE-only fields); later calls get the stored result. The framework builds
        the key and times the work; an evaluator never hashes anything by hand.

        Example:
            >>> prepared = context.once("answers", lambda: filter_prompts(task), site=None)
        """
        import time

        from saebench.identity import stable_hash

        key = ("once", name, stable_hash([self.identity, site, depends_on]))
        if key not in self.shared:
            began = time.process_time()
            self.shared[key] = compute()
            self.once_seconds[name] = time.process_time() - began
        return self.shared[key]


@dataclass
class Reference:
    """A reference method measured beside the SAE on the same data (RAVEL's DAS, the neuron
    basis, a supervised PCA): it becomes a record of its own, keyed by the evaluator, the
    method, the site and the task, never by the SAE it was computed beside.

    ``metrics`` uses the evaluator's metric names (those that apply); ``hook_name`` is the
    site it was measured at and ``size`` its number of directions where it has one.
    """

    method: str
    hook_name: str
    metrics: dict[str, float | None]
    intervals: dict[str, Interval] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, list[float]] = field(default_factory=dict)
    sample_sizes: dict[str, int] = field(default_factory=dict)
    size: int = 0
    nulls: dict[str, float | None] = field(default_factory=dict)


@dataclass
class EvalResult:
    """What ``finish`` (or ``evaluate``) returns: metrics, and the evidence around them.

    ``intervals`` holds a confidence interval per estimated metric (from
    :mod:`saebench.toolkit.intervals`), ``nulls`` each metric's value under the evaluator's own
    null (chance accuracy, a permuted-label score), ``sample_sizes`` the sampling units used,
    ``references`` the reference methods measured beside the SAE (each a record of its own),
    and ``status`` "partial" when part of the work failed (it is then recomputed on resume).
    """

    metrics: EvalMetrics
    details: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, list[float]] = field(default_factory=dict)
    intervals: dict[str, Interval] = field(default_factory=dict)
    nulls: dict[str, float | None] = field(default_factory=dict)
    sample_sizes: dict[str, int] = field(default_factory=dict)
    references: list[Reference] = field(default_factory=list)
    status: Literal["complete", "partial"] = "complete"

    @classmethod
    def skipped(cls, metrics: type[EvalMetrics], status: str, **details: Any) -> EvalResult:
        """A result with no numbers and the reason in ``details["status"]`` ("skipped: ...")
        for an SAE the evaluator does not read (a transcoder, a site it does not apply to)."""
        return cls(metrics=metrics(), details={"status": status, **details})


class Evaluator:
    name: ClassVar[str] = ""  # set from the entry point (or register_evaluator) on loading
    # "streaming" (update per batch, finish), "prompt" (prepare once, evaluate per SAE) or
    # "panel" (sees every SAE of a group at one site)
    kind: ClassVar[str] = "streaming"
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
    def prepare_identity(cls, config: EvalConfig) -> dict[str, Any]:
        """What work shared through ``context.once`` depends on of the config (all of it)."""
        return config.model_dump(mode="json")

    @classmethod
    def main_metric_for(cls, config: EvalConfig) -> str:
        """The main metric of a run with ``config`` (``main_metric`` unless the config turns
        that metric off, e.g. reconstruction without CE/KL on a synthetic tier)."""
        return cls.main_metric

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


class PromptEvaluator(Evaluator):
    """An evaluator of labelled prompt tasks: the SAE-independent work (filtered prompts,
    activations at the site, reference methods) is done once per (source, site, task, config
    without the SAE-only fields) in :meth:`prepare`; :meth:`evaluate` then runs per SAE.

    ``sae_only_fields`` names config fields that change only the per-SAE part, so SAEs run
    with different values of them still share one preparation.

    Example:
        >>> class Probe(PromptEvaluator):
        ...     def prepare(self, context):
        ...         return capture_site(context.task, context.runner, context.sae.meta)
        ...     def evaluate(self, sae, prepared, context):
        ...         return EvalResult(metrics=self.Metrics(accuracy=score(sae, prepared)))
    """

    kind: ClassVar[str] = "prompt"
    needs: ClassVar[Needs] = Needs(activations=False, model_runner=True)
    sae_only_fields: ClassVar[tuple[str, ...]] = ()

    def prepare(self, context: EvalContext) -> Any:
        """The SAE-independent work, done once and shared by every SAE of the run."""
        return None

    def evaluate(self, sae: Sae, prepared: Any, context: EvalContext) -> EvalResult:
        raise NotImplementedError

    def finish(self) -> EvalResult:
        context = self.context
        site = None
        if context.sae is not None:  # the hook, and the head an SAE of one head reads
            meta = context.sae.meta
            head = meta.hook_head_index
            site = meta.hook_name if head is None else f"{meta.hook_name}[head {head}]"
        prepared = context.once("prepare", lambda: self.prepare(context), site=site)
        return self.evaluate(context.sae, prepared, context)

    @classmethod
    def prepare_identity(cls, config: EvalConfig) -> dict[str, Any]:
        """What the preparation depends on of the config (every field but the SAE-only)."""
        return config.model_dump(mode="json", exclude=set(cls.sae_only_fields))


class PanelEvaluator(Evaluator):
    """An evaluator that compares every SAE of a group at one site (seeds, widths,
    architectures): one record for the set, keyed over its members, naming them.

    Example:
        >>> class DecoderOverlap(PanelEvaluator):
        ...     def evaluate_panel(self, saes, context):
        ...         return EvalResult(metrics=self.Metrics(mmcs=mean_max_cosine(saes)))
    """

    kind: ClassVar[str] = "panel"
    needs: ClassVar[Needs] = Needs(activations=False)
    min_members: ClassVar[int] = 2
    panel_reads: ClassVar[str] = "any SAE"  # what panel_site accepts, said when it refuses

    @classmethod
    def panel_site(cls, meta) -> str | None:
        """The panel an SAE joins: its hook by default. A panel that spans hooks (one SAE
        per attention head of every layer, say) returns a key shared across them; None
        leaves the SAE out of every panel of this evaluator (a kind it does not read)."""
        return meta.hook_name

    def evaluate_panel(self, saes: list[Sae], context: EvalContext) -> EvalResult:
        raise NotImplementedError

    def finish(self) -> EvalResult:
        return self.evaluate_panel(self.context.extras["panel"], self.context)


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
