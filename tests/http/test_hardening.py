"""Issue 15, findings 2 and 10, on real uvicorn servers on loopback configured exactly as casepilot-serve
configures them (api.server.server_config), over the session's query service."""

from __future__ import annotations

import socket
import time
from contextlib import contextmanager

import httpx
import pytest
from loopback import ThreadServer

pytestmark = [pytest.mark.http, pytest.mark.shared_data]


def ServedApp(app, settings) -> ThreadServer:  # noqa: N802  (reads as the server it builds)
    """create_app(settings) under uvicorn.Server(api.server.server_config(...)) in a thread."""
    from api.server import server_config

    return ThreadServer(app, config=lambda app, port: server_config(app, settings, "127.0.0.1", port, "warning"))


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


# ---------------------------------------------------------------- finding 9: tables not checked

def test_a_claim_is_never_clean_for_tables_that_were_not_checked(served):
    with served() as server, httpx.Client(base_url=server.url, timeout=60) as client:
        lines = [{"code": "22514", "units": 1}]
        hospital = client.post("/v1/claims/check", json={"lines": lines, "setting": "hospital"}).json()
        practitioner = client.post("/v1/claims/check", json={"lines": lines}).json()
    assert hospital["unchecked"] == ["ptp_hospital", "mue_hospital"] and hospital["clean"] is False
    assert practitioner["unchecked"] == [] and practitioner["clean"] is True


# ---------------------------------------------------------------- finding 10: the small ones

PAGE_PATHS = ("/", "/widget.js")


def test_pages_and_api_responses_carry_security_headers(served):
    with served() as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for path in (*PAGE_PATHS, "/v1/modifiers/59", "/healthz", "/v1/codes/NOPE1"):
            response = client.get(path)
            headers = response.headers
            assert headers["X-Content-Type-Options"] == "nosniff", path
            assert headers["Referrer-Policy"] == "no-referrer", path
            csp = headers["Content-Security-Policy"]
            assert "frame-ancestors" in csp and "unsafe-eval" not in csp, path
        page_csp = client.get("/").headers["Content-Security-Policy"]
        assert "script-src 'self'" in page_csp and "object-src 'none'" in page_csp
        assert "default-src 'none'" in client.get("/v1/modifiers/59").headers["Content-Security-Policy"]


def test_a_look_alike_code_is_not_found(served):
    with served() as server, httpx.Client(base_url=server.url, timeout=120) as client:
        cyrillic = client.post("/v1/ask", json={"question": "How many units of \u04081885 per day?"}).json()
        latin = client.post("/v1/ask", json={"question": "How many units of J1885 per day?"}).json()
    assert cyrillic["abstained"] and "not found" in cyrillic["answer"]
    assert [c["status"] for c in cyrillic["codes"] if c["code"] == "\u04081885"] == ["unknown"]
    assert not latin["abstained"] and any(m["value"] == 8 for m in latin["mue"])


@pytest.mark.parametrize("units", ["3", True, 2.0, 2.5, None])
def test_claim_units_must_be_a_json_integer(served, units):
    with served() as server, httpx.Client(base_url=server.url, timeout=60) as client:
        response = client.post("/v1/claims/check", json={"lines": [{"code": "J1885", "units": units}]})
        assert response.status_code == 422 and "units" in response.json()["error"]
        assert client.post("/v1/claims/check", json={"lines": [{"code": "J1885", "units": 3}]}).status_code == 200


def test_deeply_nested_json_is_422(served):
    deep = "[" * 20_000 + "]" * 20_000
    with served() as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for path in ("/v1/ask", "/v1/claims/check"):
            response = client.post(path, content=deep, headers={"Content-Type": "application/json"})
            assert response.status_code == 422 and response.json()["error"].startswith("invalid request"), path
