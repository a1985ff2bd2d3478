"""A synchronous, concurrent, cached and retrying client for any OpenAI-compatible server.

Every request is sent at temperature 0 with a seed, through ``openai.OpenAI`` with the SDK's
own retries off (``max_retries=0``) so that they do not stack with ours. Our retry loop backs
off with seeded jitter, honours ``Retry-After`` on 429 (up to ``retry_after_max_seconds``),
retries 5xx, timeouts, connection errors, malformed bodies and empty choice lists, and after
``max_attempts``, or at ``deadline_seconds`` from the first attempt (waits and every socket
read included, so a trickling server is cut too), returns an :class:`LlmFailure` in place of
the reply (one request failing never raises). Replies the caller accepts (``accept=``, and
never an empty text) are cached on disk by the whole request, so a rerun sends nothing.

The API key is read once, from the variable ``settings.api_key_env`` names, and never
appears in a message, a log line, the cache or the stats.

Example:
    >>> client = LlmClient(LlmSettings(model="judge", base_url="http://127.0.0.1:8000/v1"))
    >>> [reply] = client.chat([ChatRequest(messages=(("user", "hi"),), purpose="explain")])
    >>> reply.text if isinstance(reply, ChatReply) else reply.kind
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlparse

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.llm.cache import ResponseCache, request_key
from saebench.llm.deadline import deadline_http_client, deadline_passed, request_deadline
from saebench.llm.settings import LlmSettings, how_to_configure

log = logging.getLogger(__name__)

FAILURE_KINDS = (
    "rate_limited",
    "server_error",
    "timeout",
    "connection",
    "malformed",
    "empty",
    "refused",
    "unsupported",
)
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"}
_NO_KEY = "not-needed"  # local servers (vLLM, Ollama, llm-sim) accept any key
_PROBE = ("The cat sat on the mat.", " The cat")
_RAISE_DEADLINE = "raise --llm-deadline or SAEBENCH_LLM_DEADLINE"


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion; ``purpose`` ("explain", "detect", "fuzz", "choose") is sent as the
    OpenAI ``user`` field (``saebench/<purpose>``)."""

    messages: tuple[tuple[str, str], ...]  # (role, content)
    purpose: str
    max_tokens: int = 256
    logprobs: bool = False
    top_logprobs: int = 0  # 0..20


@dataclass
class TokenLogprob:
    token: str
    logprob: float
    top: dict[str, float]  # the top alternatives, the token itself included


@dataclass
class ChatReply:
    text: str
    logprobs: list[TokenLogprob] | None  # per generated token, when asked for and returned
    cached: bool


@dataclass(frozen=True)
class SurprisalRequest:
    """log p(continuation | prompt), per continuation token, from prompt logprobs
    (``/v1/completions`` with ``echo=True``)."""

    prompt: str
    continuation: str


@dataclass
class LlmFailure:
    """Returned in place of a reply when a request could not be answered."""

    kind: str  # one of FAILURE_KINDS
    message: str  # one line, never the API key


class _Retryable(Exception):
    def __init__(self, kind: str, message: str, wait_seconds: float | None = None):
        super().__init__(message)
        self.kind, self.message, self.wait_seconds = kind, message, wait_seconds


class _Final(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


class LlmClient:
    """Concurrent chat and surprisal requests to one judge; results come back in order.

    Raises SaebenchError when no judge is configured or a remote one has no API key.
    """

    def __init__(self, settings: LlmSettings):
        import openai

        self.settings = settings.resolved()
        if not self.settings.configured():
            raise SaebenchError(f"no LLM judge configured: {how_to_configure()}")
        self._key = _api_key(self.settings)
        self._openai = openai.OpenAI(
            api_key=self._key,
            base_url=self.settings.base_url,
            max_retries=0,
            timeout=self.settings.timeout_seconds,
            http_client=deadline_http_client(openai),
        )
        self.cache = ResponseCache(self.settings.cache_dir)
        self._lock = threading.Lock()
        self._counts: Counter = Counter()
        self._failures: Counter = Counter()
        self._prompt_logprobs: bool | None = None
        self._stopping = threading.Event()
        self._capped_retry_after = False  # warned once that a Retry-After was cut

    # -- public API -------------------------------------------------------------------------

    def chat(
        self,
        requests: Sequence[ChatRequest],
        accept: Callable[[ChatRequest, ChatReply], bool] | None = None,
    ) -> list[ChatReply | LlmFailure]:
        """Answer every request (concurrently, up to ``settings.concurrency``), in order.

        ``accept(request, reply)`` says whether the caller can use an answer (it parses, has
        the right length); only accepted answers are stored, so a rerun asks again for the
        others. A rejected answer is still returned, for the caller to count. An empty text
        is never stored.
        """
        return self._map(lambda request: self._chat_one(request, accept), requests)

    def surprisal(self, requests: Sequence[SurprisalRequest]) -> list[list[float] | LlmFailure]:
        """The logprob of each continuation token given the prompt, per request, in order;
        ``LlmFailure(kind="unsupported")`` when the server gives no prompt logprobs."""
        return self._map(self._surprisal_one, requests)

    def supports_prompt_logprobs(self) -> bool:
        """Whether the server returns prompt logprobs (probed once; the answer is cached)."""
        if self._prompt_logprobs is None:
            key = request_key({"probe": "prompt_logprobs", **self._identity(with_url=True)})
            stored = self.cache.get(key)
            if stored is not None:
                self._count("cache_hits")
                self._prompt_logprobs = bool(stored["supported"])
            else:
                # Past the cache: another server under the same model name may have answered.
                result = self._surprisal_one(SurprisalRequest(*_PROBE), probe=True)
                supported = not isinstance(result, LlmFailure)
                if supported or result.kind == "unsupported":  # a transient failure: ask later
                    self.cache.put(key, {"probe": "prompt_logprobs"}, {"supported": supported})
                    self._prompt_logprobs = supported
                return supported
        return self._prompt_logprobs

    @property
    def stats(self) -> dict:
        """Counts so far: ``requests`` (HTTP attempts sent), ``cache_hits``, ``prompt_tokens``,
        ``completion_tokens``, ``retries``, ``rejected`` (answers the caller did not accept, so
        not stored) and ``failures`` by kind (each failed request once)."""
        with self._lock:
            names = (
                "requests",
                "cache_hits",
                "prompt_tokens",
                "completion_tokens",
                "retries",
                "rejected",
            )
            out: dict[str, Any] = {name: int(self._counts[name]) for name in names}
            out["failures"] = dict(sorted(self._failures.items()))
            return out

    # -- one request ------------------------------------------------------------------------

    def _chat_one(self, request: ChatRequest, accept=None) -> ChatReply | LlmFailure:
        body = self._chat_body(request)
        key = request_key({"endpoint": "chat", **body})
        stored = self.cache.get(key)
        if stored is not None:
            self._count("cache_hits")
            return _reply_from(stored, cached=True)
        outcome = self._send(key, lambda: self._post_chat(body))
        if isinstance(outcome, LlmFailure):
            return outcome
        reply = _reply_from(outcome, cached=False)
        # Stored only once accepted: a failed explanation must be asked again on a rerun.
        if not reply.text.strip() or (accept is not None and not accept(request, reply)):
            self._count("rejected")
        else:
            self.cache.put(key, body, outcome)
        return reply

    def _surprisal_one(
        self, request: SurprisalRequest, probe: bool = False
    ) -> list[float] | LlmFailure:
        body = {
            **self._identity(),
            "prompt": request.prompt + request.continuation,
            "echo": True,
            "logprobs": 1,
            "max_tokens": 1,  # vLLM refuses 0; the generated token is dropped
        }
        key = request_key({"endpoint": "completions", "split": len(request.prompt), **body})
        stored = None if probe else self.cache.get(key)
        if stored is not None:
            self._count("cache_hits")
            return list(stored["logprobs"])

        def attempt() -> dict:
            data = self._post("completions", body)
            if data.get("choices") == []:
                raise _Retryable("empty", "reply has an empty 'choices' list")
            return {"logprobs": _continuation_logprobs(data, request, body["prompt"])}

        outcome = self._send(key, attempt, count_failure=not probe)
        if isinstance(outcome, LlmFailure):
            return outcome
        self.cache.put(key, body, outcome)
        return list(outcome["logprobs"])

    def _chat_body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            **self._identity(),
            "messages": [{"role": role, "content": content} for role, content in request.messages],
            "max_tokens": request.max_tokens,
            "user": f"saebench/{request.purpose}",
        }
        if request.logprobs:
            body["logprobs"] = True
            if request.top_logprobs:
                body["top_logprobs"] = request.top_logprobs
        return body

    def _identity(self, with_url: bool = False) -> dict[str, Any]:
        out = {"model": self.settings.model, "temperature": 0, "seed": self.settings.seed}
        return {**out, "base_url": self.settings.base_url} if with_url else out

    def _post_chat(self, body: dict[str, Any]) -> dict[str, Any]:
        data = self._post("chat/completions", body)
        choices = data.get("choices")
        if not isinstance(choices, list):
            raise _Retryable("malformed", "reply has no 'choices' list")
        if not choices:
            raise _Retryable("empty", "reply has an empty 'choices' list")
        return _parse_choice(choices[0])

    def _post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """One HTTP attempt (bound by the request's deadline: see :meth:`_send`); its tokens
        counted; errors sorted into retryable or final."""
        import openai

        self._count("requests")
        resource = self._openai.chat.completions if endpoint != "completions" else None
        try:
            if resource is not None:
                raw = resource.with_raw_response.create(**body)
            else:
                raw = self._openai.completions.with_raw_response.create(**body)
            text = raw.http_response.text
        except openai.APIStatusError as exc:
            raise _status_error(endpoint, exc) from None
        except openai.APITimeoutError:
            if deadline_passed():
                raise _Retryable("timeout", "no whole answer before the deadline") from None
            raise _Retryable(
                "timeout", f"no answer within {self.settings.timeout_seconds:g} s"
            ) from None
        except openai.APIConnectionError as exc:
            raise _Retryable(
                "connection", f"cannot reach the server ({type(exc).__name__})"
            ) from None
        try:
            data = json.loads(text)
        except ValueError:
            raise _Retryable("malformed", "reply body is not JSON") from None
        if not isinstance(data, dict):
            raise _Retryable("malformed", "reply body is not a JSON object")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        self._count("prompt_tokens", _int(usage.get("prompt_tokens")))
        self._count("completion_tokens", _int(usage.get("completion_tokens")))
        return data

    def _send(
        self, key: str, attempt: Callable[[], dict], count_failure: bool = True
    ) -> dict | LlmFailure:
        """Run ``attempt`` until it succeeds, a final error, ``max_attempts`` or the deadline.

        The deadline bounds the whole request: every socket wait of an attempt is cut at it
        (a trickling server is cut too), and no retry starts whose wait would pass it.
        """
        rng = random.Random(f"{self.settings.seed}:{key}")  # jitter independent of threads
        deadline = time.monotonic() + self.settings.deadline_seconds
        for number in range(1, self.settings.max_attempts + 1):
            try:
                with request_deadline(deadline):
                    return attempt()
            except _Final as exc:
                return self._fail(exc.kind, exc.message, count_failure)
            except _Retryable as exc:
                wait = self._wait(number, rng, exc)
                if time.monotonic() + wait >= deadline and not self._stopping.is_set():
                    message = (
                        f"{exc.message} (gave up after {_attempts(number)}: the request's "
                        f"deadline of {self.settings.deadline_seconds:g} s came; "
                        f"{_RAISE_DEADLINE})"
                    )
                    return self._fail(exc.kind, message, count_failure)
                if number == self.settings.max_attempts or self._stopping.is_set():
                    message = f"{exc.message} (gave up after {_attempts(number)})"
                    return self._fail(exc.kind, message, count_failure)
                log.debug("llm %s; retry %d in %.2f s", exc.kind, number, wait)
                self._count("retries")
                self._stopping.wait(wait)
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, rng: random.Random, exc: _Retryable) -> float:
        """Exponential backoff with jitter; a Retry-After is a floor, cut to the cap."""
        wait = self._backoff(attempt, rng)
        asked = exc.wait_seconds
        if asked is None:
            return wait
        cap = self.settings.retry_after_max_seconds
        if asked > cap:
            self._warn_capped(asked, cap)
        return max(min(asked, cap), wait)

    def _warn_capped(self, asked: float, cap: float) -> None:
        with self._lock:
            if self._capped_retry_after:
                return
            self._capped_retry_after = True
        warnings.warn(
            f"the LLM judge at {self.settings.base_url} asks to wait {asked:g} s before "
            f"retrying (Retry-After); saebench waits {cap:g} s at most "
            "(retry_after_max_seconds) and gives up after the attempts or the deadline",
            SaebenchWarning,
            stacklevel=2,
        )

    def _backoff(self, attempt: int, rng: random.Random) -> float:
        base = self.settings.backoff_seconds * 2 ** (attempt - 1)
        return min(self.settings.backoff_max_seconds, base) * (0.5 + rng.random())

    def _fail(self, kind: str, message: str, count: bool) -> LlmFailure:
        if count:
            with self._lock:
                self._failures[kind] += 1
        return LlmFailure(kind=kind, message=self._scrub(message))

    def _scrub(self, text: str) -> str:
        """One line with no trace of the key (servers echo keys, sometimes partly masked)."""
        text = " ".join(str(text).split())
        if self._key and self._key != _NO_KEY:
            text = text.replace(self._key, "***")
        return re.sub(r"\bsk-[\w*\-]+", "sk-***", text)

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def _map(self, function: Callable, requests: Sequence) -> list:
        requests = list(requests)
        if len(requests) <= 1:
            return [function(r) for r in requests]
        workers = min(self.settings.concurrency, len(requests))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="saebench-llm")
        try:
            results = list(pool.map(function, requests))
        except BaseException:
            # Ctrl-C or SIGTERM: drop queued requests and wake sleeping retries, so the run
            # stops after the attempts already on the wire instead of after all of them.
            self._stopping.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return results


def _attempts(number: int) -> str:
    return f"{number} attempt" + ("s" if number > 1 else "")


def _api_key(settings: LlmSettings) -> str:
    key = os.environ.get(settings.api_key_env)
    if key:
        return key
    host = (urlparse(settings.base_url).hostname or "").lower()
    if host in _LOOPBACK or host.startswith("127."):
        return _NO_KEY
    raise SaebenchError(
        f"no API key for the LLM judge at {settings.base_url}: set the environment variable "
        f"{settings.api_key_env} (or name another one with api_key_env)"
    )


def _status_error(endpoint: str, exc: Any) -> Exception:
    status = exc.status_code
    where = f"/v1/{endpoint}"
    if status == 429:
        return _Retryable("rate_limited", f"{where}: 429 rate limited", _retry_after(exc.response))
    if status >= 500:
        return _Retryable("server_error", f"{where}: server error {status}")
    if status == 408:
        return _Retryable("timeout", f"{where}: 408 request timeout")
    if endpoint == "completions" and status in (400, 404, 405, 501):
        return _Final("unsupported", f"{where}: {status}, the server gives no prompt logprobs")
    return _Final("refused", f"{where}: refused with {status} ({_error_text(exc)})")


def _retry_after(response: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    headers = response.headers
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        message = body.get("message") or body.get("error", {})
        if isinstance(message, dict):
            message = message.get("message")
        if message:
            return str(message)[:200]
    return type(exc).__name__


def _parse_choice(choice: Any) -> dict[str, Any]:
    """The stored form of a chat choice: text and per-token logprobs (or None)."""
    if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
        raise _Retryable("malformed", "choice has no 'message'")
    message = choice["message"]
    text = message.get("content")
    if text is None:
        if message.get("refusal"):
            raise _Final("refused", "the model refused to answer")
        text = ""
    if not isinstance(text, str):
        raise _Retryable("malformed", "message content is not text")
    content = (choice.get("logprobs") or {}).get("content")
    if not isinstance(content, list):
        return {"text": text, "logprobs": None}
    try:
        tokens = [
            {
                "token": item["token"],
                "logprob": float(item["logprob"]),
                "top": {t["token"]: float(t["logprob"]) for t in item.get("top_logprobs") or []},
            }
            for item in content
        ]
    except (KeyError, TypeError, ValueError):
        raise _Retryable("malformed", "logprobs are not token/logprob pairs") from None
    for token in tokens:
        token["top"].setdefault(token["token"], token["logprob"])
    return {"text": text, "logprobs": tokens}


def _reply_from(stored: dict[str, Any], cached: bool) -> ChatReply:
    logprobs = stored.get("logprobs")
    tokens = None if logprobs is None else [TokenLogprob(**t) for t in logprobs]
    return ChatReply(text=stored["text"], logprobs=tokens, cached=cached)


def _continuation_logprobs(data: dict, request: SurprisalRequest, full: str) -> list[float]:
    """The logprobs of the echoed tokens that overlap the continuation."""
    try:
        choice = data["choices"][0]
    except (KeyError, IndexError, TypeError):
        raise _Retryable("malformed", "completion has no choice") from None
    lp = choice.get("logprobs") if isinstance(choice, dict) else None
    if not isinstance(lp, dict) or not isinstance(lp.get("tokens"), list):
        # A server that ignores echo/logprobs (chat-only models) will not change its mind.
        raise _Final("unsupported", "the server returned no prompt logprobs")
    tokens, values = lp["tokens"], lp.get("token_logprobs") or []
    offsets = lp.get("text_offset") or _offsets(tokens)
    start, end = len(request.prompt), len(full)
    out = []
    for token, value, offset in zip(tokens, values, offsets, strict=False):
        if offset + len(token) > start and offset < end:
            if value is None:
                raise _Retryable("malformed", "a continuation token has no logprob")
            out.append(float(value))
    if not out and request.continuation:
        raise _Final("unsupported", "the server did not echo the prompt's tokens")
    return out


def _offsets(tokens: list[str]) -> list[int]:
    out, at = [], 0
    for token in tokens:
        out.append(at)
        at += len(token)
    return out


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
