"""The ``ravel`` evaluator: can an SAE's latents change one attribute of an entity (a city's
country) without changing the others (its continent, its language)?

RAVEL (Huang et al. 2024) pairs a base prompt with a source prompt about another entity and
swaps chosen coordinates of the entity's last token from source to base. Cause pairs ask the
target attribute: success is the source's value. Isolation pairs ask another attribute:
success is the base's value. Disentanglement is the mean of the two fractions, per target
attribute and split; the main metric averages it over target attributes on the held-out
entities. Latents are chosen by a learned mask (MDBM, as SAEBench) and by an L1 probe, and
the same interventions on the same pairs score three references: the neuron basis
(baseline), PCA, and a DAS rotation (skyline), computed once per hook and shared by every
SAE of the run. ``docs/evaluators/ravel.md`` has the definitions and the zoo's numbers.

This module loads no torch; the work happens in ``finish``.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from saebench.errors import SaebenchError
from saebench.evaluators import (
    EvalConfig,
    EvalMetrics,
    EvalResult,
    Evaluator,
    Needs,
    TaskRequest,
    metric,
)

ZOO_TASK = "zoo-cities"
RAVEL_TASK = "ravel"
Reference = Literal["neurons", "pca", "das"]


class RavelConfig(EvalConfig):
    """Which data, how many pairs, how latents are chosen and which references run.

    Example:
        >>> RavelConfig(data_dir="RAVEL_DATA", entity_type="nobel_prize_winner", seeds=[0, 1])
    """

    # RAVEL's own files (the ``ravel`` task); unset: the built-in zoo-cities task
    data_dir: str | None = None
    entity_type: str | None = None
    # more of the ravel task's fields (attributes, max_entities, max_templates_per_attribute,
    # seed): the real files hold ~10^6 prompts, so a sample keeps the filter affordable
    task_config: dict[str, Any] = {}
    targets: list[str] | None = None  # attributes to intervene on; None: every one with pairs
    n_pairs: int = Field(256, ge=1)  # pairs per (target, kind, split), as the instances build
    # greedy tokens read per answer (filter and interventions); None: the longest answer
    answer_tokens: int | None = Field(None, ge=1)
    batch_size: int = Field(32, ge=1)  # pairs per mask-training step (and per evaluation call)
    mask_steps: int = Field(300, ge=0)  # steps of MDBM per (dictionary, target, seed)
    mask_lr: float = Field(0.05, gt=0)
    temperature_start: float = Field(1.0, gt=0)
    temperature_end: float = Field(0.01, gt=0)
    mask_l1: float = Field(0.0, ge=0)  # weight of the mean mask value in the loss
    keep_error: bool = False  # add the SAE's error term back after decoding
    # the column patched: the entity's last token (RAVEL), or the prompt's last token (where
    # a model that moves the entity early, like the zoo's, keeps the attributes)
    position: Literal["entity", "last"] = "entity"
    probe_c: float = Field(0.1, gt=0)  # inverse L1 strength of the probe selection
    probe_max_latents: int = Field(64, ge=1)  # at most this many probe-selected latents
    references: list[Reference] = ["neurons", "pca", "das"]
    das_dim: int = Field(16, ge=1)  # dimension of DAS's subspace (capped at the hook's width)
    das_steps: int = Field(300, ge=0)
    das_lr: float = Field(0.01, gt=0)
    seeds: list[int] = [0]  # one mask (and DAS rotation) per seed; metrics are their mean
    seed: int = 0  # the instances' pair sampling

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

    @model_validator(mode="after")
    def _consistent(self) -> RavelConfig:
        if self.temperature_end > self.temperature_start:
            raise ValueError(
                f"temperature_end ({self.temperature_end}) must not exceed temperature_start "
                f"({self.temperature_start}): the mask anneals towards a hard choice"
            )
        if (self.entity_type is not None or self.task_config) and self.data_dir is None:
            raise ValueError(
                "entity_type and task_config need data_dir (the folder of RAVEL's files)"
            )
        return self

    def task_request(self) -> TaskRequest:
        if self.data_dir is None:
            return TaskRequest(name=ZOO_TASK)
        config = {**self.task_config, "data_dir": self.data_dir}
        if self.entity_type is not None:
            config["entity_type"] = self.entity_type
        return TaskRequest(name=RAVEL_TASK, config=config)


# ravel for the 14 zoo SAEs and the references within ~20 s of `saebench quickstart`: one
# target (continent: 6 values, so the probe's one-vs-rest fit is cheap), fewer pairs and steps
# The zoo model copies the city into later tokens in block 0 and never reads its column
# again, so patching the entity token changes nothing there (cause 0 for every method, DAS
# included); the quickstart patches the prompt's last token, where the attributes are.
QUICKSTART_CONFIG: dict = {
    "position": "last",
    "targets": ["continent"],
    "n_pairs": 16,
    "batch_size": 16,
    "mask_steps": 20,
    "mask_lr": 0.2,
    "das_steps": 30,
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
    disentanglement_probe: float | None = metric(
        "disentanglement (entity split) with the latents an L1 probe selects", True
    )
    disentanglement_neurons: float | None = metric(
        "the neuron basis with an MDBM mask (baseline), entity split", True
    )
    disentanglement_pca: float | None = metric("a PCA basis with an MDBM mask, entity split", True)
    disentanglement_das: float | None = metric("a learned DAS rotation (skyline), entity", True)
    relative_to_neurons: float | None = metric(
        "disentanglement - disentanglement_neurons (> 0: better than the neurons)", True
    )
    relative_to_das: float | None = metric(
        "disentanglement - disentanglement_das (0: as good as the skyline)", True
    )
    selected_latents: float | None = metric(
        "latents the MDBM mask swaps, mean over targets and seeds", None
    )
    selected_latents_probe: float | None = metric("latents the probe selects, mean", None)
    n_pairs_train: float | None = metric("training pairs over every target", None)
    n_pairs_entity: float | None = metric("held-out-entity pairs over every target", None)
    n_pairs_context: float | None = metric("held-out-template pairs over every target", None)


class RavelEvaluator(Evaluator):
    """Cause, isolation and disentanglement of latent interventions on entity attributes.

    Example:
        >>> records = saebench.evaluate("zoo:resid-topk-16", model="zoo", evaluators=["ravel"],
        ...                             configs={"ravel": {"seeds": [0, 1]}})
        >>> records[0].metrics["disentanglement"], records[0].metrics["disentanglement_das"]
    """

    version = "1"
    description = "RAVEL: cause / isolation / disentanglement of latent swaps (neurons, DAS)"
    Config = RavelConfig
    Metrics = RavelMetrics
    main_metric = "disentanglement"
    headline = ("disentanglement", "disentanglement_neurons", "disentanglement_das")
    references = {
        "neurons": "disentanglement_neurons",
        "pca": "disentanglement_pca",
        "das": "disentanglement_das",
    }
    quickstart = QUICKSTART_CONFIG

    @classmethod
    def needs_for(cls, config: RavelConfig) -> Needs:
        return Needs(activations=False, model_runner=True, task=config.task_request())

    def finish(self) -> EvalResult:
        sae = self.context.sae
        if sae.meta.is_transcoder:
            return skipped(
                f"skipped: a transcoder reads {sae.meta.hook_name} and writes "
                f"{sae.meta.output_hook}; RAVEL swaps latents of one activation"
            )
        if self.context.runner is None or self.context.task is None:
            raise SaebenchError("ravel needs a model runner and its task; run it through a plan")
        from saebench.evaluators.ravel.run import evaluate_sae

        began = time.process_time()
        result = evaluate_sae(self.config, self.context)
        result.details["cpu_seconds"] = round(time.process_time() - began, 3)
        return result


def skipped(status: str) -> EvalResult:
    """A record with no scores and the reason in ``details["status"]``."""
    return EvalResult(metrics=RavelMetrics(), details={"status": status})
