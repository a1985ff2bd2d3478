"""The client: configuration errors, the API key kept out of everything written, the
concurrency limit as seen by the server, order of results."""

import logging
import signal
import threading
import time

import pytest

from saebench.errors import SaebenchError
from saebench.llm import ChatReply, ChatRequest, LlmClient, LlmFailure, LlmSettings
from saebench.llm.settings import default_cache_dir

FAKE_KEY = "sk-test-VERY-RECOGNISABLE-0123456789"


def _detect(i):
    return ChatRequest(
        messages=(("user", f'Explanation: "k{i}"\nExample 1: k{i}\nExample 2: z'),),
        purpose="detect",
    )


def test_settings_resolve_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SAEBENCH_LLM_MODEL", "env-judge")
    monkeypatch.delenv("SAEBENCH_LLM_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    monkeypatch.setenv("SAEBENCH_CACHE", str(tmp_path))
    resolved = LlmSettings().resolved()
    assert resolved.model == "env-judge" and resolved.base_url == "http://127.0.0.1:9/v1"
    assert resolved.cache_dir == str(tmp_path / "llm") == str(default_cache_dir())
    assert resolved.configured() and not LlmSettings().configured()
    monkeypatch.setenv("SAEBENCH_LLM_BASE_URL", "http://judge:8000/v1")
    assert LlmSettings().resolved().base_url == "http://judge:8000/v1"  # ours before OpenAI's
    explicit = LlmSettings(model="flag-judge", base_url="http://x/v1").resolved()
    assert (explicit.model, explicit.base_url) == ("flag-judge", "http://x/v1")
    assert LlmSettings.model_validate_json(resolved.model_dump_json()) == resolved
    with pytest.raises(ValueError):
        LlmSettings(api_key="sk-nope")  # extra fields are refused: a key has no place here


def test_an_unconfigured_or_keyless_remote_judge_is_a_clear_error(monkeypatch, tmp_path):
    for name in ("SAEBENCH_LLM_MODEL", "SAEBENCH_LLM_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SaebenchError, match="--llm-model and --llm-base-url"):
        LlmClient(LlmSettings(cache_dir=str(tmp_path)))
    monkeypatch.delenv("MY_JUDGE_KEY", raising=False)
    remote = LlmSettings(
        model="m", base_url="https://api.example.com/v1", api_key_env="MY_JUDGE_KEY"
    )
    with pytest.raises(SaebenchError, match="MY_JUDGE_KEY") as caught:
        LlmClient(remote.model_copy(update={"cache_dir": str(tmp_path)}))
    assert "\n" not in str(caught.value)


def test_a_local_server_needs_no_key(sim, make_client, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    [reply] = make_client(sim).chat([_detect(0)])
    assert isinstance(reply, ChatReply) and reply.text == "[1, 0]"


def test_the_api_key_is_never_written(start_sim, make_client, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("JUDGE_KEY", FAKE_KEY)
    caplog.set_level(logging.DEBUG)
    server = start_sim(faults={"500": 0.3, "429": 0.2, "malformed": 0.1})
    client = make_client(server, api_key_env="JUDGE_KEY", max_attempts=2)
    assert client._openai.api_key == FAKE_KEY  # it is really sent
    requests = [_detect(i) for i in range(10)]
    requests.append(ChatRequest(messages=(("user", "hi"),), purpose="no-such"))
    replies = client.chat(requests) + client.chat(requests)
    client.supports_prompt_logprobs()
    failures = [r for r in replies if isinstance(r, LlmFailure)]
    assert failures  # the refused one at least: its message is written too
    written = [str(client.stats), repr(replies), caplog.text, client.settings.model_dump_json()]
    written += [p.read_text() for p in (tmp_path / "llm-cache").rglob("*") if p.is_file()]
    assert len(written) > 5
    for text in written:
        assert FAKE_KEY not in text and "RECOGNISABLE" not in text


def test_scrubbing_removes_the_key_and_masked_forms(sim, make_client, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", FAKE_KEY)
    client = make_client(sim, api_key_env="JUDGE_KEY")
    message = f"Incorrect API key provided: {FAKE_KEY}; also sk-test-VERY****6789\nsecond line"
    scrubbed = client._scrub(message)
    assert "RECOGNISABLE" not in scrubbed and "VERY" not in scrubbed and "\n" not in scrubbed


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_limits_requests_in_flight(start_sim, make_client, concurrency):
    # Answers are held until `concurrency` requests are in flight at once, however slow
    # the machine; then released, and the peak must not have passed the limit.
    server = start_sim(latency_seconds=120)
    client = make_client(server, concurrency=concurrency, timeout_seconds=300)
    out = {}
    asking = threading.Thread(
        target=lambda: out.update(replies=client.chat([_detect(i) for i in range(6)]))
    )
    asking.start()
    _wait_for(lambda: server.stats()["in_flight"] == concurrency, f"{concurrency} in flight")
    server.release()
    asking.join()
    assert server.stats()["max_in_flight"] == concurrency
    assert [r.text for r in out["replies"]] == ["[1, 0]"] * 6


def test_results_come_back_in_request_order(sim, make_client):
    requests = [
        ChatRequest(
            messages=(("user", 'Explanation: "t"\n' + "Example 1: t\n" * i),), purpose="detect"
        )
        for i in range(1, 12)
    ]
    replies = make_client(sim, concurrency=4).chat(requests)
    assert [r.text.count(",") + 1 for r in replies] == list(range(1, 12))


def _wait_for(condition, what, seconds=60.0):
    """Poll ``condition`` until it holds; the cap is only there to end a broken test."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what} after {seconds} s"
        time.sleep(0.01)


def test_ctrl_c_drops_the_queued_requests(start_sim, make_client):
    # The server holds every answer until released, so the two requests on the wire stay
    # there however slow or busy the machine is; the client waits for them far longer.
    server = start_sim(latency_seconds=120)
    client = make_client(server, concurrency=2, timeout_seconds=300)

    caught = threading.Event()

    def ctrl_c_once_two_are_on_the_wire():
        _wait_for(lambda: server.stats()["in_flight"] >= 2, "two requests in flight")
        # a real Ctrl-C, sent to the main thread itself: a signal the kernel hands to another
        # thread would leave the main thread asleep in its wait (seen: a hung run). Sent
        # again each second until it is caught: one run of the whole suite (an in-process Ray
        # from an earlier test, threads of other libraries) once slept through the first.
        while not caught.is_set():
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            caught.wait(1.0)

    # Python's own SIGINT handler, whatever an earlier test or library left installed.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        killer = threading.Thread(target=ctrl_c_once_two_are_on_the_wire)
        killer.start()
        with pytest.raises(KeyboardInterrupt):
            client.chat([_detect(i) for i in range(20)])
        signal.signal(signal.SIGINT, lambda signum, frame: None)  # a late repeat: no-op
        caught.set()
        killer.join()
    finally:
        caught.set()
        signal.signal(signal.SIGINT, previous)
    server.release()  # the two on the wire are answered now
    _wait_for(lambda: not _llm_threads(), "the client's threads to end")
    assert server.stats()["requests"] == 2  # nothing queued was sent
    assert server.stats()["in_flight"] == 0


def _llm_threads():
    return [t for t in threading.enumerate() if t.name.startswith("saebench-llm")]
