"""A rule-based OpenAI-compatible judge over real HTTP, for tests and dry runs with no spend.

It speaks ``POST /v1/chat/completions`` (with logprobs and usage), ``POST /v1/completions``
(echoed prompt logprobs), ``GET /v1/models`` and ``GET /stats``, and answers by the prompt
wire format of ``docs/llm.md``: requests name their purpose in the ``user`` field
(``saebench/explain``, ``detect``, ``fuzz``, ``choose``), highlighted tokens are
``<<wrapped>>``, an explanation is a line ``Explanation: "w1", "w2"``, examples are lines
``Example N: ...`` and passages ``Passage A: ...`` / ``Passage B: ...``.

Faults are injected at configured rates, chosen from a hash of (seed, request body, how many
times that body was seen): a retried request may succeed, and two runs inject the same faults.
With ``fault_sightings=N`` only the first N sightings of a body can get a fault: a burst that
ends, survived by a client with more than N attempts.

Example:
    >>> with SimServer(port=0, faults={"429": 0.2}) as server:
    ...     server.base_url          # 'http://127.0.0.1:PORT/v1'
    ...     server.stats()["requests"]
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import select
import socket
import string
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# New kinds go at the end: the order cuts [0, 1) into rates, so older tables keep their faults.
FAULT_KINDS = (
    "429",
    "500",
    "slow",
    "malformed",
    "wrong_length",
    "empty",
    "blank",
    "garbage",
    "trickle",
)
_ANSWER_FAULTS = ("wrong_length", "blank", "garbage")  # a 200 with an answer no scorer accepts
_GARBAGE = "As an AI judge I find these examples delightful."
_TRICKLE_STEP = 0.1  # seconds between the bytes of a trickled answer
MODEL_NAME = "saebench-sim"
_CHOSEN, _OTHER = math.log(0.9), math.log(0.1)
_SEEN, _UNSEEN = math.log(0.5), math.log(0.01)
_HIGHLIGHT = re.compile(r"<<(.+?)>>")
_QUOTED = re.compile(r'"([^"]+)"')
_PUNCTUATION = string.punctuation + "\u201c\u201d\u2018\u2019\u00ab\u00bb"


class SimServer:
    """The simulated judge on ``host:port`` (``port=0``: a free one), in a background thread.

    ``faults`` maps a kind of :data:`FAULT_KINDS` to the fraction of requests that get it
    (the rates add up to at most 1). A slow answer is held ``slow_seconds`` (or until the
    client hangs up), then refused; a trickled one is sent a byte every 0.1 s over
    ``trickle_seconds``, so no single read waits long. :meth:`release` ends every wait at once.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: dict[str, float] | None = None,
        seed: int = 0,
        prompt_logprobs: bool = True,
        latency_seconds: float = 0.0,
        retry_after_seconds: float = 1.0,
        slow_seconds: float = 65.0,
        trickle_seconds: float = 120.0,
        fault_sightings: int | None = None,
    ):
        self.faults = check_faults(faults or {})
        self.seed = seed
        self.prompt_logprobs = prompt_logprobs
        self.latency_seconds = latency_seconds
        self.retry_after_seconds = retry_after_seconds
        self.slow_seconds = slow_seconds
        self.trickle_seconds = trickle_seconds
        self.fault_sightings = fault_sightings
        self._lock = threading.Lock()
        self._seen: Counter = Counter()
        self._counts: Counter = Counter()
        self._purposes: Counter = Counter()
        self._injected: Counter = Counter()
        self._in_flight = 0
        self._max_in_flight = 0
        self._wake = threading.Event()  # set: every pause ends at once (release or stop)
        self._thread: threading.Thread | None = None
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> SimServer:
        # A short poll so that stop() returns at once (the default waits up to 0.5 s).
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self._wake.set()  # ends held answers, which then give up
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    def release(self) -> None:
        """End every pause now and from now on: latency, slow and trickled answers."""
        self._wake.set()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        """Requests in total, per purpose, faults injected per kind, and in-flight peaks."""
        with self._lock:
            return {
                "requests": int(self._counts["requests"]),
                "purposes": dict(self._purposes),
                "faults": dict(self._injected),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
            }

    # -- used by the handler ---------------------------------------------------------------

    def begin(self, purpose: str) -> None:
        with self._lock:
            self._counts["requests"] += 1
            self._purposes[purpose] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def choose_fault(self, raw: bytes, allowed: tuple[str, ...]) -> str | None:
        """The fault for this body at this sighting, or None."""
        digest = hashlib.sha256(raw).hexdigest()
        with self._lock:
            sighting = self._seen[digest]
            self._seen[digest] += 1
        if self.fault_sightings is not None and sighting >= self.fault_sightings:
            return None
        u = _unit(f"{self.seed}|{digest}|{sighting}")
        edge = 0.0
        for kind in FAULT_KINDS:  # a fixed order, so a rate table always cuts [0, 1) the same
            edge += self.faults.get(kind, 0.0)
            if u < edge:
                if kind not in allowed:
                    return None
                with self._lock:
                    self._injected[kind] += 1
                return kind
        return None

    def pause(self, seconds: float, gone=None) -> None:
        """Wait ``seconds``, less if released or stopped, or once ``gone()`` says the client
        hung up (checked every 0.05 s)."""
        if seconds <= 0:
            return
        end = time.monotonic() + seconds
        while not self._wake.is_set() and (left := end - time.monotonic()) > 0:
            if self._wake.wait(min(left, 0.05) if gone else left) or (gone and gone()):
                return


def check_faults(faults: dict[str, float]) -> dict[str, float]:
    """Validated fault rates (raises ValueError naming the problem)."""
    for kind, rate in faults.items():
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"fault {kind!r}: rate {rate} is not between 0 and 1")
    if sum(faults.values()) > 1.0 + 1e-9:
        raise ValueError("fault rates add up to more than 1")
    return {kind: float(rate) for kind, rate in faults.items()}


def _faults_for(purpose: str) -> tuple[str, ...]:
    """A wrong-length list only makes sense as a detection or fuzzing answer, a blank or
    garbled text only as a chat answer."""
    if purpose in ("detect", "fuzz"):
        return FAULT_KINDS
    if purpose == "surprisal":
        return tuple(kind for kind in FAULT_KINDS if kind not in _ANSWER_FAULTS)
    return tuple(kind for kind in FAULT_KINDS if kind != "wrong_length")


def _unit(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:13], 16) / 16**13


# -- HTTP ---------------------------------------------------------------------------------


def _handler_for(server: SimServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        sim = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sim: SimServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: a judge server that prints every request drowns the evaluation's output

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?")[0].rstrip("/")
        if path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})
        elif path == "/stats":
            self._json(200, self.sim.stats())
        else:
            self._error(404, f"no such path {path}")

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?")[0].rstrip("/")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if path == "/v1/chat/completions":
            purpose = str((body or {}).get("user", "")).removeprefix("saebench/") or "unknown"
            self._serve(raw, body, purpose, _chat_answer)
        elif path == "/v1/completions":
            self._serve(raw, body, "surprisal", _completion_answer)
        else:
            self._error(404, f"no such path {path}")

    def _serve(self, raw: bytes, body: Any, purpose: str, answer) -> None:
        sim = self.sim
        sim.begin(purpose)
        try:
            sim.pause(sim.latency_seconds)
            if not isinstance(body, dict):
                return self._error(400, "the request body is not a JSON object")
            if purpose == "surprisal" and not sim.prompt_logprobs:
                return self._error(404, "this server gives no prompt logprobs")
            fault = sim.choose_fault(raw, _faults_for(purpose))
            if self._transport_fault(fault):
                return
            try:
                reply = answer(body, purpose, fault == "wrong_length")
            except ValueError as exc:
                return self._error(400, str(exc))
            if fault == "empty":
                reply["choices"] = []
            elif fault in ("blank", "garbage"):
                message = reply["choices"][0]["message"]
                message["content"] = "" if fault == "blank" else _GARBAGE
                reply["choices"][0]["logprobs"] = None
            if fault == "trickle":
                return self._trickle(json.dumps(reply).encode())
            self._json(200, reply)
        finally:
            sim.end()

    def _transport_fault(self, fault: str | None) -> bool:
        sim = self.sim
        if fault == "429":
            wait = f"{sim.retry_after_seconds:g}"
            self._error(429, "rate limited (simulated)", {"Retry-After": wait})
        elif fault == "500":
            self._error(500, "internal error (simulated)")
        elif fault == "slow":
            sim.pause(sim.slow_seconds, gone=self._client_gone)
            self._error(504, "too slow (simulated)")  # the client has long given up
        elif fault == "malformed":
            self._send(200, b'{"choices": [ this is not json', "application/json")
        else:
            return False
        return True

    def _client_gone(self) -> bool:
        """Whether the client closed the connection (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True

    def _trickle(self, data: bytes) -> None:
        """A whole answer, status line and headers included, one byte per 0.1 s over about
        ``trickle_seconds`` (JSON may start with spaces): every read gets a byte quickly, so
        only a bound on the whole request ends it."""
        sim = self.sim
        pad = b" " * max(0, int(sim.trickle_seconds / _TRICKLE_STEP) - len(data) - 80)
        body = pad + data
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        try:
            for byte in (head + "\r\n\r\n").encode() + body:
                self.wfile.write(bytes([byte]))
                sim.pause(_TRICKLE_STEP)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(value).encode(), "application/json", headers)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": "sim_error"}}, headers)

    def _send(self, status: int, data: bytes, kind: str, headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and hung up


# -- answers by rule ----------------------------------------------------------------------


def _chat_answer(body: dict, purpose: str, wrong_length: bool) -> dict:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list")
    user = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
    last = user[-1] if user else ""
    rules = {"explain": explain, "detect": detect, "fuzz": fuzz, "choose": choose}
    if purpose not in rules:
        raise ValueError(f"unknown purpose {purpose!r}: send user='saebench/<purpose>'")
    if purpose in ("detect", "fuzz"):
        labels = rules[purpose](last)
        if wrong_length:
            labels = labels + [0]
        text, tokens = _label_tokens(labels)
    else:
        text = rules[purpose](last)
        tokens = _choice_tokens(text) if purpose == "choose" else _plain_tokens(text)
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": "stop",
        "logprobs": None,
    }
    if body.get("logprobs"):
        top_n = int(body.get("top_logprobs") or 0)
        choice["logprobs"] = {"content": [_logprob_item(t, top, top_n) for t, top in tokens]}
    prompt_words = sum(len(str(m.get("content", "")).split()) for m in messages)
    return _envelope("chat.completion", body, [choice], prompt_words, len(text.split()))


def _completion_answer(body: dict, purpose: str, wrong_length: bool) -> dict:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ValueError("'prompt' must be one string")
    pieces, offsets, values = prompt_logprobs(prompt)
    generated = "." if int(body.get("max_tokens", 16) or 0) > 0 else ""
    if generated:
        pieces, offsets = pieces + [generated], offsets + [len(prompt)]
        values = values + [_SEEN]
    if not body.get("echo"):
        keep = len(pieces) - (1 if generated else 0)
        pieces, offsets, values = pieces[keep:], offsets[keep:], values[keep:]
    text = "".join(pieces)
    choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": "length"}
    if body.get("logprobs") is not None:
        choice["logprobs"] = {
            "tokens": pieces,
            "token_logprobs": values,
            "top_logprobs": [
                None if v is None else {p: v} for p, v in zip(pieces, values, strict=True)
            ],
            "text_offset": offsets,
        }
    return _envelope("text_completion", body, [choice], len(prompt.split()), len(generated.split()))


def _envelope(kind: str, body: dict, choices: list, prompt: int, completion: int) -> dict:
    return {
        "id": f"sim-{hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]}",
        "object": kind,
        "created": int(time.time()),
        "model": body.get("model") or MODEL_NAME,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def explain(message: str) -> str:
    """``Explanation: "a", "b", "c"``: the (at most 3) most frequent highlighted strings."""
    counts: Counter = Counter()
    for found in _HIGHLIGHT.findall(message):
        if found.strip():
            counts[found.strip()] += 1  # Counter keeps first-seen order among equal counts
    top = [word for word, _ in counts.most_common(3)]
    if not top:
        return "Explanation: nothing is highlighted"
    return "Explanation: " + ", ".join(f'"{word}"' for word in top)


def detect(message: str) -> list[int]:
    """1 per example that contains a quoted string of the explanation as a whole word."""
    words = _explanation_strings(message)
    return [int(any(_contains(_plain(ex), w) for w in words)) for ex in _examples(message)]


def fuzz(message: str) -> list[int]:
    """1 per example whose highlighted strings are all explanation strings (at least one)."""
    words = {w.lower() for w in _explanation_strings(message)}
    out = []
    for example in _examples(message):
        marked = [m.strip().lower() for m in _HIGHLIGHT.findall(example)]
        out.append(int(bool(marked) and all(m in words for m in marked)))
    return out


def choose(message: str) -> str:
    """``A`` or ``B``: the passage with more occurrences of the explanation's strings."""
    words = _explanation_strings(message)
    passages = {"A": "", "B": ""}
    for line in message.splitlines():
        for name in passages:
            if line.startswith(f"Passage {name}:"):
                passages[name] = line.split(":", 1)[1]
    counts = {name: sum(_count(text, w) for w in words) for name, text in passages.items()}
    return "A" if counts["A"] >= counts["B"] else "B"


def prompt_logprobs(prompt: str) -> tuple[list[str], list[int], list[float | None]]:
    """Whitespace tokens (leading space attached), offsets and logprobs: the first is None,
    a token seen before log 0.5, a new one log 0.01. Tokens are compared case-insensitively
    and without surrounding punctuation, so the explanation ``"cat",`` repeats ``cat.``."""
    pieces, offsets, values = [], [], []
    seen: set[str] = set()
    for match in re.finditer(r"\s*\S+", prompt):
        word = _word(match.group())
        values.append(None if not pieces else (_SEEN if word in seen else _UNSEEN))
        pieces.append(match.group())
        offsets.append(match.start())
        seen.add(word)
    if pieces and len("".join(pieces)) < len(prompt):
        pieces[-1] += prompt[len("".join(pieces)) :]  # trailing whitespace
    return pieces, offsets, values


def _word(token: str) -> str:
    bare = token.strip().strip(_PUNCTUATION).lower()
    return bare or token.strip().lower()  # a token of punctuation only is compared as it is


def _explanation_strings(message: str) -> list[str]:
    for line in message.splitlines():
        if line.startswith("Explanation:"):
            return [s.strip() for s in _QUOTED.findall(line) if s.strip()]
    return []


def _examples(message: str) -> list[str]:
    found = []
    for line in message.splitlines():
        match = re.match(r"Example \d+:(.*)$", line)
        if match:
            found.append(match.group(1))
    return found


def _plain(text: str) -> str:
    return text.replace("<<", "").replace(">>", "")


def _pattern(word: str) -> re.Pattern:
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)


def _contains(text: str, word: str) -> bool:
    return _pattern(word).search(text) is not None


def _count(text: str, word: str) -> int:
    return len(_pattern(word).findall(_plain(text)))


def _label_tokens(labels: list[int]) -> tuple[str, list[tuple[str, dict | None]]]:
    """``[1, 0]`` and its tokens; each digit token carries both "0" and "1" as alternatives."""
    tokens: list[tuple[str, dict | None]] = [("[", None)]
    for i, label in enumerate(labels):
        if i:
            tokens.append((", ", None))
        chosen, other = str(label), str(1 - label)
        tokens.append((chosen, {chosen: _CHOSEN, other: _OTHER}))
    tokens.append(("]", None))
    return "".join(t for t, _ in tokens), tokens


def _choice_tokens(text: str) -> list[tuple[str, dict | None]]:
    other = "B" if text == "A" else "A"
    return [(text, {text: _CHOSEN, other: _OTHER})]


def _plain_tokens(text: str) -> list[tuple[str, dict | None]]:
    return [(piece, None) for piece in re.findall(r"\s*\S+|\s+$", text)]


def _logprob_item(token: str, top: dict | None, top_n: int) -> dict:
    alternatives = top or {token: 0.0}
    logprob = alternatives[token]
    # A label token always shows both labels (the wire format promises it), others top_n.
    shown = max(top_n, len(top)) if top else max(top_n, 0)
    ranked = sorted(alternatives.items(), key=lambda kv: -kv[1])[:shown]
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": [{"token": t, "logprob": v, "bytes": list(t.encode())} for t, v in ranked],
    }
