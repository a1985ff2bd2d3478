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

from pydantic import BaseModel, ConfigDict, Field

MODEL_ENV = "SAEBENCH_LLM_MODEL"
BASE_URL_ENVS = ("SAEBENCH_LLM_BASE_URL", "OPENAI_BASE_URL")
CACHE_ENV = "SAEBENCH_CACHE"


class LlmSettings(BaseModel):
    """The judge model, its endpoint and the client's limits; ``None`` means "from the
    environment" (see :meth:`resolved`)."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None  # --llm-model, or $SAEBENCH_LLM_MODEL
    base_url: str | None = None  # --llm-base-url, or $SAEBENCH_LLM_BASE_URL, $OPENAI_BASE_URL
    api_key_env: str = "OPENAI_API_KEY"  # the variable the key is read from; never the key
    concurrency: int = Field(8, ge=1)  # requests in flight
    timeout_seconds: float = Field(60.0, gt=0)  # per attempt
    max_attempts: int = Field(5, ge=1)  # per request, then it is a counted failure
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
            }
        )

    def configured(self) -> bool:
        """Whether a judge is known: a model and a base URL (call on :meth:`resolved`)."""
        return bool(self.model) and bool(self.base_url)


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


def _first_env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
