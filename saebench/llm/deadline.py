"""A bound on a whole HTTP request, not on each read: an HTTP client for the OpenAI SDK whose
every socket wait (connect, write, read, TLS) is cut at the deadline of the request the
calling thread is sending.

A read timeout alone lets a server that trickles a byte every few seconds hold a request for
ever; here each wait gets ``min(its timeout, time left)``, and none starts once the time is
up, so the request ends with the SDK's own timeout error at the deadline.

Example:
    >>> client = openai.OpenAI(base_url=..., http_client=deadline_http_client(openai))
    >>> with request_deadline(time.monotonic() + 30):
    ...     client.chat.completions.create(...)   # ends within 30 s, however it is served
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections.abc import Iterator
from typing import Any

_LOCAL = threading.local()  # .at: the monotonic deadline of this thread's request, or None


@contextlib.contextmanager
def request_deadline(at: float | None) -> Iterator[None]:
    """Every socket wait of this thread ends by ``at`` (``time.monotonic()``) inside."""
    before = getattr(_LOCAL, "at", None)
    _LOCAL.at = at
    try:
        yield
    finally:
        _LOCAL.at = before


def deadline_passed() -> bool:
    """Whether this thread's request deadline has come (False with none set)."""
    at = getattr(_LOCAL, "at", None)
    return at is not None and time.monotonic() >= at - 0.01


def deadline_http_client(openai: Any) -> Any:
    """The SDK's default HTTP client (its limits and redirects) over a deadline-bound pool.

    Raises RuntimeError when the HTTP library has no pool to bound (a version that moved it).
    """
    client_class = openai.DefaultHttpxClient
    # httpx2 for openai 3, httpx before: the transport must come from the client's library
    root = next(k.__module__.split(".")[0] for k in client_class.__mro__ if k.__name__ == "Client")
    httpx = importlib.import_module(root)
    transport = httpx.HTTPTransport()
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:
        raise RuntimeError(f"{root} {getattr(httpx, '__version__', '?')}: no network backend")
    pool._network_backend = _Backend(backend)
    return client_class(transport=transport)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """The timeout of one wait: the caller's, cut to what is left of the deadline."""
    at = getattr(_LOCAL, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Backend:
    """Wraps an httpcore network backend: connections it opens obey the deadline."""

    def __init__(self, inner: Any):
        self._inner = inner
        self._errors = importlib.import_module(type(inner).__module__.split(".")[0])

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _left(timeout, self._errors.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream, self._errors)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        timeout = _left(timeout, self._errors.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options), self._errors)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _Stream:
    def __init__(self, inner: Any, errors: Any):
        self._inner, self._errors = inner, errors

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, self._errors.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, self._errors.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = _left(timeout, self._errors.ConnectTimeout)
        inner = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _Stream(inner, self._errors)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
