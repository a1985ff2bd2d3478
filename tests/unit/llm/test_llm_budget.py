"""The retry budget of one request: attempts and a total deadline from settings, flags,
suites and the environment; Retry-After capped; a trickling server cut at the deadline.

Each call runs under a guard thread, so a client that would wait a day fails the test in
seconds instead of hanging it."""

import threading
import time

import pytest

from saebench.errors import SaebenchError, SaebenchWarning
from saebench.llm import ChatRequest, LlmFailure, LlmSettings


def _requests(n):
    return [
        ChatRequest(
            messages=(("user", f'Explanation: "a{i}"\nExample 1: a{i}\nExample 2: b'),),
            purpose="detect",
        )
        for i in range(n)
    ]


def _guarded(client, requests, seconds=30.0):
    """``client.chat(requests)`` and its duration; fails if it is still waiting after
    ``seconds`` (and wakes the client so the thread ends)."""
    out: dict = {}

    def call():
        began = time.monotonic()
        out["replies"] = client.chat(requests)
        out["elapsed"] = time.monotonic() - began

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        client._stopping.set()
        pytest.fail(f"the client was still waiting after {seconds} s")
    return out["replies"], out["elapsed"]


def test_retry_after_is_capped_with_a_one_line_warning(start_sim, make_client):
    server = start_sim(faults={"429": 1.0}, retry_after_seconds=86400)
    client = make_client(server, max_attempts=3, retry_after_max_seconds=0.2, backoff_seconds=0)
    with pytest.warns(SaebenchWarning, match="86400") as caught:
        [failure], elapsed = _guarded(client, _requests(1))
    assert isinstance(failure, LlmFailure) and failure.kind == "rate_limited"
    assert server.stats()["requests"] == 3 and elapsed >= 2 * 0.2
    [warning] = [w for w in caught if issubclass(w.category, SaebenchWarning)]
    assert "\n" not in str(warning.message) and "0.2 s" in str(warning.message)


def test_a_trickling_server_is_cut_at_the_deadline(start_sim, make_client):
    # The server sends a byte every 0.1 s for a minute: no single read ever times out.
    server = start_sim(faults={"trickle": 1.0})
    client = make_client(server, max_attempts=3, timeout_seconds=5.0, deadline_seconds=2.0)
    [failure], elapsed = _guarded(client, _requests(1))
    assert isinstance(failure, LlmFailure) and failure.kind == "timeout", failure
    assert "deadline" in failure.message and "2 s" in failure.message
    assert 2.0 <= elapsed < 4.5  # at the deadline, not one read timeout (5 s) later
    assert server.stats()["requests"] == 1  # no time was left for another attempt


def test_the_deadline_bounds_the_retries_too(start_sim, make_client):
    server = start_sim(faults={"500": 1.0})
    client = make_client(
        server,
        max_attempts=1000,
        backoff_seconds=0.2,
        backoff_max_seconds=0.2,
        deadline_seconds=1.0,
    )
    [failure], elapsed = _guarded(client, _requests(1))
    assert isinstance(failure, LlmFailure) and failure.kind == "server_error"
    assert "deadline" in failure.message and elapsed < 1.0 + 1.0
    assert server.stats()["requests"] <= 11  # waits of 0.1-0.3 s within one second


def test_a_burst_of_429s_longer_than_the_waits_is_survived_with_more_attempts(
    start_sim, make_client
):
    # Every request is rate limited on its first 4 sightings: 4 attempts lose all of them,
    # 5 get every answer (the sim's faults are chosen per sighting of a request body).
    server = start_sim(faults={"429": 1.0}, fault_sightings=4)
    lost = make_client(server, max_attempts=4).chat(_requests(3))
    assert all(isinstance(r, LlmFailure) for r in lost)
    server = start_sim(faults={"429": 1.0}, fault_sightings=4)
    kept = make_client(server, max_attempts=5).chat(_requests(3))
    assert [r.text for r in kept] == ["[1, 0]"] * 3


def test_attempts_and_deadline_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("SAEBENCH_LLM_MAX_ATTEMPTS", raising=False)
    monkeypatch.delenv("SAEBENCH_LLM_DEADLINE", raising=False)
    defaults = LlmSettings().resolved()
    assert defaults.max_attempts >= 6 and defaults.deadline_seconds >= 60
    monkeypatch.setenv("SAEBENCH_LLM_MAX_ATTEMPTS", "9")
    monkeypatch.setenv("SAEBENCH_LLM_DEADLINE", "42.5")
    resolved = LlmSettings().resolved()
    assert (resolved.max_attempts, resolved.deadline_seconds) == (9, 42.5)
    explicit = LlmSettings(max_attempts=3, deadline_seconds=7).resolved()
    assert (explicit.max_attempts, explicit.deadline_seconds) == (3, 7)  # a setting wins
    monkeypatch.setenv("SAEBENCH_LLM_MAX_ATTEMPTS", "lots")
    with pytest.raises(SaebenchError, match="SAEBENCH_LLM_MAX_ATTEMPTS") as caught:
        LlmSettings().resolved()
    assert "\n" not in str(caught.value)
    monkeypatch.setenv("SAEBENCH_LLM_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("SAEBENCH_LLM_DEADLINE", "0")
    with pytest.raises(SaebenchError, match="SAEBENCH_LLM_DEADLINE"):
        LlmSettings().resolved()


@pytest.mark.parametrize("command", ["eval", "run", "quickstart"])
def test_the_commands_take_attempts_and_deadline_flags(command):
    import typer

    from saebench.cli.main import app
    from saebench.cli.options import llm_settings

    params = typer.main.get_command(app).commands[command].params
    flags = {flag for param in params for flag in param.opts}
    assert {"--llm-model", "--llm-max-attempts", "--llm-deadline"} <= flags
    given = llm_settings("m", None, max_attempts=12, deadline=90.0)
    assert given == {"model": "m", "max_attempts": 12, "deadline_seconds": 90.0}
    assert llm_settings(None, None) == {}


def test_a_suite_sets_the_judge_and_a_flag_overrides_it():
    from saebench.llm.settings import merge_settings
    from saebench.run.suites import parse_suite

    suite = parse_suite(
        "name: s\nsaes: zoo:resid-topk-16\nevaluators: autointerp\n"
        "llm:\n  model: judge\n  max_attempts: 9\n  deadline_seconds: 40\n"
    )
    assert suite.llm.max_attempts == 9 and suite.llm.model == "judge"
    merged = merge_settings(suite.llm, {"max_attempts": 3})
    assert (merged.model, merged.max_attempts, merged.deadline_seconds) == ("judge", 3, 40)
    assert merge_settings(None, None) == LlmSettings()
    with pytest.raises(SaebenchError, match="max_atempts"):
        parse_suite("name: s\nsaes: zoo:x\nevaluators: autointerp\nllm:\n  max_atempts: 9\n")


def test_budget_settings_do_not_change_the_cached_answers(sim, make_client):
    make_client(sim).chat(_requests(2))
    other = make_client(sim, max_attempts=2, deadline_seconds=5, retry_after_max_seconds=1)
    assert all(r.cached for r in other.chat(_requests(2)))
    assert sim.stats()["requests"] == 2
