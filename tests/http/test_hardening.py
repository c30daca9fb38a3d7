"""Issue 15, findings 2 and 10, on real uvicorn servers on loopback configured exactly as casepilot-serve
configures them (api.server.server_config), over the session's query service."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Self

import httpx
import pytest
from loopback import bound_socket

pytestmark = [pytest.mark.http, pytest.mark.shared_data]


class ServedApp:
    """create_app(settings) under uvicorn.Server(api.server.server_config(...)) in a thread."""

    def __init__(self, app, settings):
        import uvicorn

        from api.server import server_config

        self.app = app
        self.socket = bound_socket()
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(server_config(app, settings, "127.0.0.1", self.port, "warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()


@pytest.fixture
def served(casepilot):
    from api.main import create_app
    from rag.settings import Settings

    @contextmanager
    def start(**overrides):
        settings = Settings(data_dir=casepilot.settings.data_dir, **overrides)
        with ServedApp(create_app(settings, casepilot=casepilot), settings) as server:
            yield server

    return start


# ---------------------------------------------------------------- finding 2: X-Forwarded-For

def test_x_forwarded_for_does_not_make_a_fresh_guest(served):
    with served(guest_quota_per_day=2) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        statuses = [client.get("/v1/modifiers/59", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                    for i in range(4)]
    assert statuses == [200, 200, 429, 429]


def test_a_victims_quota_cannot_be_burned_by_naming_its_address(served):
    """The victim connects from 127.0.0.2; the attacker, from 127.0.0.1, names it in X-Forwarded-For."""
    with served(guest_quota_per_day=1) as server:
        with httpx.Client(base_url=server.url, timeout=60) as attacker:
            attacker.get("/v1/modifiers/59", headers={"X-Forwarded-For": "127.0.0.2"})
        victim_transport = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(base_url=server.url, timeout=60, transport=victim_transport) as victim:
            assert victim.get("/v1/modifiers/59").status_code == 200


def test_a_configured_proxy_is_believed(served):
    with served(guest_quota_per_day=1, forwarded_allow_ips=["127.0.0.1"]) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        first = client.get("/v1/modifiers/59", headers={"X-Forwarded-For": "198.51.100.1"})
        second = client.get("/v1/modifiers/59", headers={"X-Forwarded-For": "198.51.100.2"})
        again = client.get("/v1/modifiers/59", headers={"X-Forwarded-For": "198.51.100.1"})
    assert (first.status_code, second.status_code, again.status_code) == (200, 200, 429)


# ---------------------------------------------------------------- finding 10: slow headers

def test_a_client_that_never_finishes_its_headers_is_disconnected(served):
    with served(header_timeout_s=1.0) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as slow:
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            assert slow.recv(1024) == b""  # closed by the server, not by the 15 s client timeout
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as silent:
            assert silent.recv(1024) == b""  # a connection that sends nothing at all
        with httpx.Client(base_url=server.url, timeout=30) as client:  # a normal keep-alive client still works
            assert client.get("/healthz").status_code == 200
            time.sleep(1.5)
            assert client.get("/healthz").status_code == 200
