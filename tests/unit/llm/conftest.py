"""A simulated judge on a free 127.0.0.1 port per test, and clients that talk to it over
real HTTP with a throwaway response cache and short retry delays.

Nothing here depends on the machine's speed: ordinary answers are instant and the client
waits seconds for them; a slow or trickling fault holds its answer for a minute (the server
lets go as soon as the client hangs up), so a timeout is always the fault's, never the load's."""

import pytest

from saebench.llm import LlmClient, LlmSettings, SimServer


@pytest.fixture
def start_sim():
    """``start_sim(**SimServer kwargs)``: a started server, stopped after the test."""
    servers = []

    def start(**kwargs):
        kwargs.setdefault("retry_after_seconds", 0.05)
        kwargs.setdefault("slow_seconds", 60.0)
        kwargs.setdefault("trickle_seconds", 60.0)
        server = SimServer(port=0, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sim(start_sim):
    return start_sim()


@pytest.fixture
def make_client(tmp_path):
    """``make_client(server, **LlmSettings fields)``: a client of that server."""

    def make(server, **fields):
        fields.setdefault("model", "sim-judge")
        fields.setdefault("cache_dir", str(tmp_path / "llm-cache"))
        fields.setdefault("backoff_seconds", 0.01)
        fields.setdefault("timeout_seconds", 5.0)
        return LlmClient(LlmSettings(base_url=server.base_url, **fields))

    return make
