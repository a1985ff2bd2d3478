"""One typed request of what to run: the CLI flags, :func:`saebench.evaluate`,
:func:`saebench.plan` and a suite's fields all build a :class:`RunRequest`, and
:func:`saebench.run.executors.execute` runs it (locally or on Ray).

Only plain checks live here (names of options, kinds of values); what needs files or models
(a dataset that exists, a device this machine has, SAEs that load) is checked by planning.

Example:
    >>> request = RunRequest.build("zoo:resid-topk-16", model="zoo", dataset="zoo",
    ...                            evaluators="sparsity", n_tokens=20_000)
    >>> request.evaluators
    ['sparsity']
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from saebench.errors import SaebenchError, setting

DEFAULT_EVALUATORS = ("reconstruction", "sparsity")


class ExecutorSettings(BaseModel):
    """Where groups run: in this process, or as Ray tasks (one per group)."""

    model_config = ConfigDict(extra="forbid")

    name: Literal["local", "ray"] = "local"
    address: str | None = None  # a Ray cluster ("auto", "HOST:PORT"); None: a local instance
    num_cpus: float | None = Field(default=None, ge=0)
    num_gpus: float | None = Field(default=None, ge=0)
    retries: int = Field(default=1, ge=0)  # a failed Ray group is tried again this many times


class RunRequest(BaseModel):
    """Everything a run is asked to do. None means "not set": the SAEs' own metadata, the
    environment or a documented default decides (see :func:`saebench.evaluate`)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    saes: list[Any] = Field(min_length=1)  # URIs, paths or loaded Sae objects
    model: Any = None  # a TransformerLens name, "zoo", a folder or a HookedTransformer
    dataset: Any = None
    evaluators: list[str] = Field(default_factory=lambda: list(DEFAULT_EVALUATORS))
    n_tokens: int | None = None  # None: 200,000 capped at what the dataset gives
    configs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    context_size: int | None = None
    prepend_bos: bool | None = None
    separator: str | int | None = None
    batch_size: int | None = None
    device: str | None = None
    model_dtype: str | None = None
    sae_dtype: str | None = None
    cache_dir: Path | None = None
    llm: Any = None  # an LlmSettings or a dict of its fields; unset ones from the environment
    controls: list[str] | None = None  # control kinds planned beside every SAE
    out_dir: Path | None = None
    resume: bool = True
    progress: bool = True
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings)

    @field_validator("saes", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return list(value) if isinstance(value, (list, tuple)) else [value]

    @field_validator("evaluators", "controls", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return list(value) if isinstance(value, tuple) else value

    @field_validator("configs", mode="before")
    @classmethod
    def _no_configs(cls, value: Any) -> Any:
        return {} if value is None else value

    @classmethod
    def build(cls, saes: Any, **options: Any) -> RunRequest:
        """A request from keyword options, each mistake one line naming the option and fix."""
        unknown = sorted(set(options) - set(cls.model_fields))
        if unknown:
            raise SaebenchError(_unknown_option(unknown[0]))
        options = {k: v for k, v in options.items() if v is not None or k == "model"}
        try:
            return cls(saes=saes, **options)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else "request"
            raise SaebenchError(f"{setting(name)}: {first['msg']}") from None


def _unknown_option(name: str) -> str:
    close = difflib.get_close_matches(name, list(RunRequest.model_fields), n=1)
    hint = f"; did you mean {setting(close[0])}?" if close else ""
    return f"unknown option {name!r}{hint} (options: {', '.join(RunRequest.model_fields)})"
