"""Which LLM judge to call and how: serialisable settings that never hold the API key.

The key itself is read from the environment variable named by ``api_key_env`` when a
:class:`~saebench.llm.client.LlmClient` is built, so a run plan or record that carries these
settings carries no secret.

Example:
    >>> settings = LlmSettings(model="my-judge", base_url="http://127.0.0.1:8000/v1")
    >>> settings.resolved().configured()
    True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from saebench.errors import on_command_line

MODEL_ENV = "SAEBENCH_LLM_MODEL"
BASE_URL_ENVS = ("SAEBENCH_LLM_BASE_URL", "OPENAI_BASE_URL")
CACHE_ENV = "SAEBENCH_CACHE"
MAX_ATTEMPTS_ENV = "SAEBENCH_LLM_MAX_ATTEMPTS"
DEADLINE_ENV = "SAEBENCH_LLM_DEADLINE"
# Six attempts back off about 1 + 2 + 4 + 8 + 16 s: a rate-limit burst of 10-20 s is survived.
DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_DEADLINE_SECONDS = 300.0


class LlmSettings(BaseModel):
    """The judge model, its endpoint and the client's limits; ``None`` means "from the
    environment" (see :meth:`resolved`). None of these changes an answer except ``model`` and
    ``seed``, which are in every cache and record key; the limits are in neither."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None  # --llm-model, or $SAEBENCH_LLM_MODEL
    base_url: str | None = None  # --llm-base-url, or $SAEBENCH_LLM_BASE_URL, $OPENAI_BASE_URL
    api_key_env: str = "OPENAI_API_KEY"  # the variable the key is read from; never the key
    concurrency: int = Field(8, ge=1)  # requests in flight
    timeout_seconds: float = Field(60.0, gt=0)  # per read of one attempt
    # per request, then it is a counted failure: --llm-max-attempts, $SAEBENCH_LLM_MAX_ATTEMPTS
    max_attempts: int | None = Field(None, ge=1)
    # the whole request, attempts and waits included: --llm-deadline, $SAEBENCH_LLM_DEADLINE
    deadline_seconds: float | None = Field(None, gt=0)
    retry_after_max_seconds: float = Field(60.0, ge=0)  # longer Retry-After waits are cut
    cache_dir: str | None = None  # None: $SAEBENCH_CACHE/llm or ~/.cache/saebench/llm
    seed: int = 0  # sent with every request, and part of the cache key
    backoff_seconds: float = Field(1.0, ge=0)  # first retry delay, doubled per attempt
    backoff_max_seconds: float = Field(30.0, ge=0)  # cap on one delay (Retry-After excepted)

    def resolved(self) -> LlmSettings:
        """A copy with every ``None`` field filled from the environment where it can be."""
        base_url = self.base_url or _first_env(BASE_URL_ENVS)
        return self.model_copy(
            update={
                "model": self.model or os.environ.get(MODEL_ENV) or None,
                "base_url": base_url.rstrip("/") if base_url else None,
                "cache_dir": self.cache_dir or str(default_cache_dir()),
                "max_attempts": self.max_attempts
                or _env_number(MAX_ATTEMPTS_ENV, int, DEFAULT_MAX_ATTEMPTS),
                "deadline_seconds": self.deadline_seconds
                or _env_number(DEADLINE_ENV, float, DEFAULT_DEADLINE_SECONDS),
            }
        )

    def configured(self) -> bool:
        """Whether a judge is known: a model and a base URL (call on :meth:`resolved`)."""
        return bool(self.model) and bool(self.base_url)


def merge_settings(*layers: LlmSettings | dict[str, Any] | None) -> LlmSettings:
    """One set of settings from layers, later ones winning field by field (a suite's
    ``llm:`` then the command line's flags); only fields a layer sets count."""
    from saebench.errors import SaebenchError

    merged: dict[str, Any] = {}
    for layer in layers:
        if isinstance(layer, LlmSettings):
            layer = layer.model_dump(exclude_unset=True)
        merged.update({k: v for k, v in (layer or {}).items() if v is not None})
    try:
        return LlmSettings(**merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise SaebenchError(f"llm setting {field}: {first['msg']}") from None


def default_cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "saebench"
    return base / "llm"


def how_to_configure() -> str:
    """The settings that enable an LLM judge, for messages ("skipped: ..." and errors)."""
    return (
        f"set --llm-model and --llm-base-url (or ${MODEL_ENV} and ${BASE_URL_ENVS[0]}); "
        "`saebench llm-sim` serves a local rule-based judge"
    )


def llm_hint() -> str:
    """The settings that enable an evaluator that asks an LLM, as the user gives them (flags
    on the command line, ``llm=`` in Python)."""
    if on_command_line():
        given = "--llm-model MODEL and --llm-base-url URL"
    else:
        given = 'llm={"model": MODEL, "base_url": URL}'
    return (
        f"an OpenAI-compatible judge: {given} (or SAEBENCH_LLM_MODEL and "
        "SAEBENCH_LLM_BASE_URL); `saebench llm-sim` serves a rule-based one locally"
    )


def _env_number(name: str, kind: type, default: float) -> Any:
    """A positive number from the environment, or ``default`` when unset."""
    from saebench.errors import SaebenchError

    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = kind(value)
    except ValueError:
        number = 0
    if not number > 0:  # nan too
        what = "a whole number" if kind is int else "a number of seconds"
        raise SaebenchError(f"{name}={value!r} is not {what} above 0; set it to e.g. {default:g}")
    return number


def _first_env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
