"""`saebench llm-sim` as a real process: it starts on the port asked for, answers the real
client, counts what it saw, and stops cleanly on Ctrl-C."""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from saebench.llm import ChatRequest, LlmClient, LlmSettings


def _as_in_a_terminal():
    # A shell starts background jobs with SIGINT ignored and children inherit that, so
    # under `pytest &` Ctrl-C would never reach the server: start it as a terminal would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _saebench(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "saebench.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_in_a_terminal,
        **kwargs,
    )


def _wait_until_up(url, process, seconds=300):  # a cap for a loaded machine
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"llm-sim did not answer at {url}")


def test_llm_sim_serves_the_client_and_stops_on_ctrl_c(tmp_path):
    # port 0: the server binds a free port itself (a port probed free here could be taken by
    # another process before the server binds it)
    process = _saebench("llm-sim", "--port", "0", "--fault", "500:0.5", "--seed", "1")
    first = ""
    try:
        # both lines it prints once up (communicate() would not see what readline buffered)
        first = process.stdout.readline() + process.stdout.readline()
        base = first.splitlines()[0].split(" at ", 1)[1].strip()
        port = base.split(":")[-1].split("/")[0]
        models = _wait_until_up(base + "/models", process)
        assert models["data"][0]["id"] == "saebench-sim"
        client = LlmClient(
            LlmSettings(
                model="saebench-sim",
                base_url=base,
                cache_dir=str(tmp_path),
                backoff_seconds=0.01,
                max_attempts=10,
            )
        )
        [reply] = client.chat(
            [ChatRequest(messages=(("user", "Example 1: <<sun>> and <<sun>>"),), purpose="explain")]
        )
        assert reply.text == 'Explanation: "sun"'
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats") as response:
            stats = json.load(response)
        assert stats["purposes"]["explain"] == stats["requests"] == client.stats["requests"]
        assert stats["faults"].get("500", 0) == client.stats["retries"]
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert f"--llm-base-url {base}" in first + out and "stopped" in out
    assert "Traceback" not in err


def test_llm_sim_refuses_a_bad_fault_and_a_busy_port():
    bad = _saebench("llm-sim", "--port", "0", "--fault", "teapot:0.1")
    _, err = bad.communicate(timeout=120)
    assert bad.returncode == 2 and err.startswith("error: --fault") and "429" in err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = _saebench("llm-sim", "--port", str(taken.getsockname()[1]))
        _, err = busy.communicate(timeout=120)
    assert busy.returncode == 2 and "choose another --port" in err and err.count("\n") == 1


def test_llm_sim_on_any_free_port_stops_on_sigterm():
    process = _saebench("llm-sim", "--port", "0", "--no-prompt-logprobs")
    try:
        first = process.stdout.readline()
        url = first.split(" at ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/v1")
        _wait_until_up(url + "/models", process)
        request = urllib.request.Request(url + "/completions", data=b'{"prompt": "a"}')
        try:
            urllib.request.urlopen(request, timeout=60)
            raise AssertionError("expected a 404")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        process.terminate()
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "stopped after 1 requests" in out
