"""The Ray address probe: a short TCP connect before Ray is contacted (no Ray cluster here)."""

import socket

import pytest

from saebench.errors import SaebenchError
from saebench.run.ray_executor import check_address


def test_a_listening_address_passes_in_every_form():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}", f"localhost:{port}"):
            check_address(address, "--address")


@pytest.mark.parametrize("address", [None, "auto", "local"])
def test_addresses_ray_resolves_itself_are_not_probed(address):
    check_address(address, "--address")


def test_a_closed_port_is_refused_naming_the_address_and_the_fix():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SaebenchError) as info:
        check_address(f"127.0.0.1:{port}", "--address")
    message = str(info.value)
    assert f"--address 127.0.0.1:{port}" in message and "ray start --head" in message


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.1:port", "127.0.0.1:0", ":6379"])
def test_a_malformed_address_is_refused(address):
    with pytest.raises(SaebenchError, match="host:port"):
        check_address(address, "--address")
