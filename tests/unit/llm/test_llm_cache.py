"""The response cache: a rerun sends nothing, any change to the request misses, failures and
damaged entries are never served."""

import json
import threading

from saebench.llm import ChatReply, ChatRequest, LlmFailure, SurprisalRequest
from saebench.llm.cache import ResponseCache, request_key


def _requests(n=4):
    return [
        ChatRequest(
            messages=(("user", f'Explanation: "w{i}"\nExample 1: w{i}\nExample 2: x'),),
            purpose="detect",
        )
        for i in range(n)
    ]


def test_a_second_run_sends_zero_requests(sim, make_client):
    first = make_client(sim).chat(_requests())
    sent = sim.stats()["requests"]
    assert sent == 4
    client = make_client(sim)  # a new client, as in a new process: only the disk is shared
    again = client.chat(_requests())
    assert sim.stats()["requests"] == sent
    assert [r.text for r in again] == [r.text for r in first]
    assert all(r.cached for r in again) and not any(r.cached for r in first)
    assert client.stats["cache_hits"] == 4 and client.stats["requests"] == 0
    [values] = make_client(sim).surprisal([SurprisalRequest("a b", " a")])
    [cached] = make_client(sim).surprisal([SurprisalRequest("a b", " a")])
    assert cached == values and sim.stats()["purposes"]["surprisal"] == 1


def test_changing_any_part_of_the_request_misses(sim, make_client):
    make_client(sim).chat(_requests(1))
    base = _requests(1)[0]
    variants = [
        (make_client(sim, model="another-judge"), base),
        (make_client(sim, seed=1), base),
        (make_client(sim), ChatRequest(messages=base.messages, purpose="fuzz")),
        (make_client(sim), ChatRequest(messages=base.messages, purpose="detect", max_tokens=9)),
        (make_client(sim), ChatRequest(messages=base.messages, purpose="detect", logprobs=True)),
    ]
    for n, (client, request) in enumerate(variants, start=2):
        [reply] = client.chat([request])
        assert isinstance(reply, ChatReply) and not reply.cached
        assert sim.stats()["requests"] == n
    # the same prompt split differently is another surprisal request
    client = make_client(sim)
    client.surprisal([SurprisalRequest("a b", " c")])
    client.surprisal([SurprisalRequest("a", " b c")])
    assert sim.stats()["purposes"]["surprisal"] == 2


def test_failures_are_not_cached(start_sim, make_client, tmp_path):
    broken = start_sim(faults={"500": 1.0})
    [failure] = make_client(broken, max_attempts=2).chat(_requests(1))
    assert isinstance(failure, LlmFailure)
    healthy = start_sim()
    [reply] = make_client(healthy).chat(_requests(1))
    assert isinstance(reply, ChatReply) and not reply.cached
    assert healthy.stats()["requests"] == 1


def test_a_damaged_entry_is_a_miss(sim, make_client, tmp_path):
    make_client(sim).chat(_requests(2))
    files = sorted((tmp_path / "llm-cache").rglob("*.json"))
    assert len(files) == 2
    files[0].write_text('{"key": "trunc')
    files[1].write_bytes(b"\xff\xfe not utf-8")
    replies = make_client(sim).chat(_requests(2))
    assert all(isinstance(r, ChatReply) and not r.cached for r in replies)
    assert sim.stats()["requests"] == 4
    assert all(json.loads(f.read_text())["reply"]["text"] for f in files)  # rewritten whole


def test_concurrent_writers_of_one_key_leave_one_whole_entry(tmp_path):
    cache = ResponseCache(tmp_path)
    key = request_key({"model": "m", "messages": [["user", "hi"]]})
    texts = [f"reply {i} " * 200 for i in range(16)]

    def write(text):
        for _ in range(20):
            cache.put(key, {"model": "m"}, {"text": text})
            assert cache.get(key)["text"] in texts  # never half a file

    threads = [threading.Thread(target=write, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get(key)["text"] in texts
    assert [p.name for p in tmp_path.rglob("*")] == [key[:2], f"{key}.json"]


def test_an_entry_under_another_key_is_a_miss(tmp_path):
    cache = ResponseCache(tmp_path)
    one, two = request_key({"a": 1}), request_key({"a": 2})
    cache.put(one, {"a": 1}, {"text": "x"})
    cache.path(two).parent.mkdir(parents=True, exist_ok=True)
    cache.path(two).write_text(cache.path(one).read_text())  # a copied file is not an answer
    assert cache.get(two) is None and cache.get(one) == {"text": "x"}
    assert request_key({"a": 1, "b": 2}) == request_key({"b": 2, "a": 1})


_WRITER = """
import sys
from saebench.llm.cache import ResponseCache
cache = ResponseCache(sys.argv[1])
for _ in range(150):
    cache.put(sys.argv[2], {"model": "m"}, {"text": sys.argv[3] * 500})
"""


def test_two_processes_writing_one_key_never_expose_half_an_entry(tmp_path):
    import subprocess
    import sys

    cache = ResponseCache(tmp_path)
    key = request_key({"model": "m", "messages": [["user", "shared"]]})
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), key, letter])
        for letter in "xy"
    ]
    seen = set()
    while any(w.poll() is None for w in writers):
        reply = cache.get(key)
        if reply is not None:
            seen.add(reply["text"])
    assert all(w.returncode == 0 for w in writers)
    assert seen <= {"x" * 500, "y" * 500} and cache.get(key)["text"] in seen | {
        "x" * 500,
        "y" * 500,
    }
    assert not [p for p in tmp_path.rglob("*.tmp")]
