"""Every injected fault is survived by retrying and counted by kind; a request that never
succeeds ends as one LlmFailure after max_attempts."""

import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from saebench.llm import ChatReply, ChatRequest, LlmFailure, SurprisalRequest
from saebench.llm.client import _retry_after


def _requests(n):
    return [
        ChatRequest(
            messages=(("user", f'Explanation: "a{i}"\nExample 1: a{i}\nExample 2: b'),),
            purpose="detect",
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "kind, client_kind",
    [
        ("429", "rate_limited"),
        ("500", "server_error"),
        ("malformed", "malformed"),
        ("empty", "empty"),
        ("slow", "timeout"),
    ],
)
def test_each_fault_is_survived_and_counted(start_sim, make_client, kind, client_kind):
    # A slow fault holds its answer for a minute (until the client hangs up); ordinary
    # answers are instant, so a 3 s timeout catches the faults and nothing else on any machine.
    server = start_sim(faults={kind: 0.4})
    client = make_client(server, max_attempts=8, timeout_seconds=3.0, concurrency=8)
    replies = client.chat(_requests(12))
    assert all(isinstance(r, ChatReply) for r in replies), replies
    assert [r.text for r in replies] == ["[1, 0]"] * 12
    injected = server.stats()["faults"][kind]
    assert injected >= 1
    stats = client.stats
    assert stats["retries"] == injected  # one retry per fault, nothing else retried
    assert stats["requests"] == 12 + injected == server.stats()["requests"]
    assert stats["failures"] == {}


def test_faults_are_the_same_in_two_runs(start_sim, make_client, tmp_path):
    counts = []
    for run in range(2):
        server = start_sim(faults={"500": 0.3, "malformed": 0.2}, seed=3)
        make_client(server, cache_dir=str(tmp_path / f"cache{run}")).chat(_requests(10))
        counts.append(server.stats()["faults"])
    assert counts[0] == counts[1] and sum(counts[0].values()) > 0


def test_wrong_length_is_returned_as_text_for_the_scorer(start_sim, make_client):
    server = start_sim(faults={"wrong_length": 0.5})
    replies = make_client(server).chat(_requests(10))
    lengths = [r.text.count(",") + 1 for r in replies]
    assert lengths.count(3) == server.stats()["faults"]["wrong_length"] >= 1
    assert set(lengths) == {2, 3}


def test_retry_after_is_honoured(start_sim, make_client):
    server = start_sim(faults={"429": 1.0}, retry_after_seconds=0.3)
    client = make_client(server, max_attempts=3, backoff_seconds=0.0)
    start = time.monotonic()
    [failure] = client.chat(_requests(1))
    elapsed = time.monotonic() - start
    assert isinstance(failure, LlmFailure) and failure.kind == "rate_limited"
    assert elapsed >= 2 * 0.3  # two waits of at least Retry-After between three attempts
    assert "3 attempts" in failure.message


def test_a_permanent_failure_gives_up_after_max_attempts_counted_once(start_sim, make_client):
    server = start_sim(faults={"500": 1.0})
    client = make_client(server, max_attempts=3)
    [failure] = client.chat(_requests(1))
    assert isinstance(failure, LlmFailure) and failure.kind == "server_error"
    assert "\n" not in failure.message
    assert server.stats()["requests"] == 3
    assert client.stats["failures"] == {"server_error": 1}
    assert client.stats["retries"] == 2 and client.stats["requests"] == 3


def test_a_surprisal_request_survives_faults_too(start_sim, make_client):
    server = start_sim(faults={"500": 0.3, "empty": 0.3})
    client = make_client(server, max_attempts=10)
    results = client.surprisal([SurprisalRequest(f"w{i} x", f" w{i}") for i in range(8)])
    assert all(r == pytest.approx([-0.6931471805599453]) for r in results), results
    assert sum(server.stats()["faults"].values()) == client.stats["retries"] >= 1


def test_a_dead_server_is_a_connection_failure(make_client, start_sim):
    server = start_sim()
    client = make_client(server, max_attempts=2)
    server.stop()
    [failure] = client.chat(_requests(1))
    assert isinstance(failure, LlmFailure) and failure.kind == "connection"


def test_retry_after_reads_seconds_milliseconds_and_http_dates():
    assert _retry_after(httpx.Response(429, headers={"Retry-After": "2.5"})) == 2.5
    assert _retry_after(httpx.Response(429, headers={"retry-after-ms": "250"})) == 0.25
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    wait = _retry_after(httpx.Response(429, headers={"Retry-After": format_datetime(when, True)}))
    assert 28 <= wait <= 31
    assert _retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert _retry_after(httpx.Response(429)) is None
