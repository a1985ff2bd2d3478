"""The ``ravel`` evaluator's config and metrics: a leaf that loads no torch (listing
evaluators, planning and reading records import it alone).

Example:
    >>> RavelConfig(task="smollm2-cities", targets=["Country"]).task_request().name
    'smollm2-cities'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_serializer, model_validator

from saebench.errors import SaebenchError
from saebench.evaluators import EvalConfig, EvalMetrics, TaskRequest, metric

ZOO_TASK = "zoo-cities"
RAVEL_TASK = "ravel"
ReferenceName = Literal["neurons", "neurons_linear", "pca", "das", "mdas"]
# where RAVEL patches: the entity's last token. The zoo's model copies the city into later
# tokens in block 0 and never reads its column again, so there the entity token is inert
# (cause 0 for every method, DAS included) and the default patches the prompt's last token,
# a variant every record names (``details["variant"]``)
RAVEL_POSITION = "entity"


class RavelConfig(EvalConfig):
    """Which data, how many pairs, how latents are chosen and which references run.

    Example:
        >>> RavelConfig(data_dir="RAVEL_DATA", entity_type="nobel_prize_winner", seeds=[0, 1])
        >>> RavelConfig(task="smollm2-cities")      # a registered task in RAVEL's layout
    """

    # a registered task in RAVEL's layout (``saebench tasks list``: smollm2-cities, ravel);
    # unset: RAVEL's own files when data_dir is set, else the built-in zoo-cities task
    task: str | None = None
    # RAVEL's own files (the ``ravel`` task); unset: the built-in zoo-cities task
    data_dir: str | None = None
    entity_type: str | None = None
    # more of the task's fields (attributes, max_entities, max_templates_per_attribute,
    # seed): the real files hold ~10^6 prompts, so a sample keeps the filter affordable
    task_config: dict[str, Any] = {}
    targets: list[str] | None = None  # attributes to intervene on; None: every one with pairs
    # scored pairs per (target, kind) on each held-out split (entity, context)
    n_pairs: int = Field(128, ge=1)
    # training pairs per (target, kind): a mask over d_sae latents needs many more pairs than
    # it has latents to choose (SAEBench trains on ~3,500 per attribute; 512 per kind keep
    # the zoo's default run affordable on a CPU)
    n_train_pairs: int = Field(512, ge=1)
    n_val_pairs: int = Field(64, ge=1)  # per (target, kind): where DAS picks its dimension
    # greedy tokens read per answer (filter and interventions); None: the longest answer
    answer_tokens: int | None = Field(None, ge=1)
    batch_size: int = Field(32, ge=1)  # pairs per training step (and per evaluation call)
    mask_steps: int = Field(150, ge=0)  # steps of MDBM per (dictionary, target, seed)
    mask_lr: float = Field(0.1, gt=0)
    temperature_start: float = Field(1.0, gt=0)
    temperature_end: float = Field(0.01, gt=0)
    mask_l1: float = Field(0.0, ge=0)  # weight of the mean mask value in the loss
    keep_error: bool = False  # add the SAE's error term back after decoding
    # the column patched: the entity's last token (RAVEL), or the prompt's last token; None:
    # RAVEL's for RAVEL-layout tasks, the last token for zoo-cities (whose model moves the
    # entity)
    position: Literal["entity", "last"] | None = None
    probe_c: float = Field(0.1, gt=0)  # inverse L1 strength of the probe selection
    probe_max_latents: int = Field(64, ge=1)  # at most this many probe-selected latents
    references: list[ReferenceName] = ["neurons", "neurons_linear", "pca", "das", "mdas"]
    # DAS / MDAS subspace dimensions tried (capped at the hook's width); the validation
    # pairs choose one
    das_dims: list[int] = [4, 16, 64]
    das_max_steps: int = Field(200, ge=0)  # per rotation; training stops earlier at convergence
    das_tol: float = Field(0.01, ge=0)  # convergence: an epoch's mean loss falls less than this
    das_lr: float = Field(0.02, gt=0)
    # each seed redraws the pairs and retrains every mask, probe and rotation; metrics are
    # their mean and the record keeps each seed's value
    seeds: list[int] = [0]

    @model_serializer(mode="wrap")
    def _without_unset_task(self, handler) -> dict[str, Any]:
        # ``task`` came later: left out while unset, so the configs (and record keys) of
        # every run before it stay as they were
        values = handler(self)
        if isinstance(values, dict) and values.get("task") is None:
            values.pop("task", None)
        return values

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int]) -> list[int]:
        if not value or len(set(value)) != len(value):
            raise ValueError(f"seeds must be distinct and at least one, got {value}")
        return value

    @field_validator("references")
    @classmethod
    def _distinct_references(cls, value: list[str]) -> list[str]:
        return sorted(set(value), key=value.index)

    @field_validator("das_dims")
    @classmethod
    def _positive_dims(cls, value: list[int]) -> list[int]:
        if not value or min(value) < 1:
            raise ValueError(f"das_dims must be positive dimensions, at least one, got {value}")
        return sorted(set(value))

    @model_validator(mode="after")
    def _consistent(self) -> RavelConfig:
        if self.temperature_end > self.temperature_start:
            raise ValueError(
                f"temperature_end ({self.temperature_end}) must not exceed temperature_start "
                f"({self.temperature_start}): the mask anneals towards a hard choice"
            )
        if self.task is not None and self.data_dir is not None:
            raise ValueError(
                "give task (a registered RAVEL-layout task) or data_dir (a folder of RAVEL's "
                "files), not both"
            )
        if (self.entity_type is not None or self.task_config) and not self._task_named():
            raise ValueError(
                "entity_type and task_config need data_dir (the folder of RAVEL's files) or a "
                "task in RAVEL's layout"
            )
        return self

    def _task_named(self) -> bool:
        return self.data_dir is not None or self.task not in (None, ZOO_TASK)

    def task_request(self) -> TaskRequest:
        """The task the pairs come from: the named one, RAVEL's files, or zoo-cities."""
        if not self._task_named():
            return TaskRequest(name=ZOO_TASK)
        config = dict(self.task_config)
        if self.entity_type is not None:
            config["entity_type"] = self.entity_type
        if self.task is None:
            return TaskRequest(name=RAVEL_TASK, config={**config, "data_dir": self.data_dir})
        check_ravel_layout(self.task)
        return TaskRequest(name=self.task, config=config)

    def patched_position(self) -> str:
        """The column patched: the set one, else RAVEL's (the last token on zoo-cities)."""
        if self.position is not None:
            return self.position
        return RAVEL_POSITION if self._task_named() else "last"

    def variant(self) -> str | None:
        """None for RAVEL's protocol; otherwise what departs from it."""
        position = self.patched_position()
        if position == RAVEL_POSITION:
            return None
        return f"position={position}: not RAVEL's position (the entity's last token)"


def check_ravel_layout(name: str) -> None:
    """A one-line error unless task ``name`` is registered and built on RAVEL's layout
    (:class:`saebench.tasks.ravel.RavelTask`): its prompts carry the entity span, the
    attributes and the entity and template splits that the pairs are made from."""
    from saebench.registry import tasks
    from saebench.tasks.ravel import RavelTask

    cls = tasks.get(name)  # an unknown name: the registry's error, with the known names
    if not (isinstance(cls, type) and issubclass(cls, RavelTask)):
        raise SaebenchError(
            f"ravel.task: {name!r} is not a task in RAVEL's layout; name one built on "
            "saebench.tasks.ravel.RavelTask (e.g. smollm2-cities), or set ravel.data_dir to "
            "a folder of RAVEL's files"
        )


# ravel for the 14 zoo SAEs and the references in a few minutes of `saebench quickstart`:
# sizes at which the interval over pairs separates the random dictionary from the trained
# SAEs (docs/evaluators/ravel.md has the measurement); one target keeps it affordable
QUICKSTART_CONFIG: dict = {
    "targets": ["continent"],
    "n_pairs": 192,
    "n_train_pairs": 256,
    "n_val_pairs": 32,
    "batch_size": 32,
    "mask_steps": 80,
    "mask_lr": 0.2,
    "das_dims": [4, 16],
    "das_max_steps": 160,
    "das_lr": 0.05,
}


class RavelMetrics(EvalMetrics):
    disentanglement: float | None = metric(
        "mean over targets of (cause + isolation) / 2, held-out entities, MDBM mask", True
    )
    cause: float | None = metric("mean over targets of the cause score (entity split)", True)
    isolation: float | None = metric("mean over targets of the isolation score (entity)", True)
    disentanglement_context: float | None = metric(
        "disentanglement on held-out templates (context split), MDBM mask", True
    )
    cause_context: float | None = metric("cause score on the context split", True)
    isolation_context: float | None = metric("isolation score on the context split", True)
    disentanglement_train: float | None = metric(
        "disentanglement on training pairs (far above the held-out score: overfitting)", None
    )
    disentanglement_probe: float | None = metric(
        "disentanglement (entity split) with the latents an L1 probe selects", True
    )
    selected_latents: float | None = metric(
        "coordinates the mask swaps (a rotation: its dimension), mean over targets and seeds",
        None,
    )
    selected_latents_probe: float | None = metric("latents the probe selects, mean", None)
