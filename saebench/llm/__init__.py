"""The LLM judge: settings, a cached retrying client for OpenAI-compatible servers, and a
simulated server for tests and dry runs.

Nothing heavy loads at import (the ``openai`` package only when a client is built).

Example:
    >>> from saebench.llm import ChatRequest, LlmClient, LlmSettings, SimServer
    >>> with SimServer() as server:
    ...     client = LlmClient(LlmSettings(model="sim", base_url=server.base_url))
    ...     client.chat([ChatRequest(messages=(("user", "<<cat>> sat"),), purpose="explain")])
"""

from typing import TYPE_CHECKING

from saebench.lazy import lazy_exports

_EXPORTS = {
    "LlmSettings": "saebench.llm.settings",
    "how_to_configure": "saebench.llm.settings",
    "ChatRequest": "saebench.llm.client",
    "ChatReply": "saebench.llm.client",
    "TokenLogprob": "saebench.llm.client",
    "SurprisalRequest": "saebench.llm.client",
    "LlmFailure": "saebench.llm.client",
    "LlmClient": "saebench.llm.client",
    "FAILURE_KINDS": "saebench.llm.client",
    "ResponseCache": "saebench.llm.cache",
    "SimServer": "saebench.llm.sim",
    "FAULT_KINDS": "saebench.llm.sim",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from saebench.llm.cache import ResponseCache  # noqa: F401
    from saebench.llm.client import (  # noqa: F401
        FAILURE_KINDS,
        ChatReply,
        ChatRequest,
        LlmClient,
        LlmFailure,
        SurprisalRequest,
        TokenLogprob,
    )
    from saebench.llm.settings import LlmSettings, how_to_configure  # noqa: F401
    from saebench.llm.sim import FAULT_KINDS, SimServer  # noqa: F401

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
