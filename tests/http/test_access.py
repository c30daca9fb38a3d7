"""API keys, tiers, quotas, CORS and log privacy, on real uvicorn servers (no mocks)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from casepilot_live import CORS_ORIGIN

from api.access import create_key, revoke_key

pytestmark = [pytest.mark.http, pytest.mark.shared_data]


def test_registered_key_in_either_header_and_bad_key_is_401(live_server, api, api_key):
    for headers in ({"X-API-Key": api_key}, {"Authorization": f"Bearer {api_key}"}):
        response = api.get("/v1/modifiers/59", headers=headers)
        assert response.status_code == 200
        assert int(response.headers["X-RateLimit-Limit"]) == 1_000_000
    for bad in ("cp_nope_nope", api_key[:-2] + "xx", "garbage"):
        response = api.get("/v1/modifiers/59", headers={"X-API-Key": bad})
        assert response.status_code == 401
        assert "invalid API key" in response.json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.get("/v1/modifiers/59", headers={"Authorization": "Bearer bad"}).status_code == 401
    assert api.get("/healthz", headers={"X-API-Key": "bad"}).status_code == 200  # operations need no key


def test_guest_and_registered_quotas_are_separate_and_429_has_retry_after(app_server, tmp_path):
    keys = tmp_path / "keys.json"
    key = create_key(keys, "carol")
    with app_server(guest_quota_per_day=2, registered_quota_per_day=3, api_keys_file=keys) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        for remaining in (1, 0):
            response = client.get("/v1/modifiers/25")
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Remaining"] == str(remaining)
        over = client.get("/v1/modifiers/25")
        assert over.status_code == 429
        retry = int(over.headers["Retry-After"])
        assert 0 < retry <= 86_401
        body = over.json()
        assert body["tier"] == "guest" and body["limit"] == 2 and body["retry_after"] == retry
        assert "quota" in body["error"]
        # the registered tier has its own counter and limit
        for _ in range(3):
            assert client.get("/v1/modifiers/25", headers={"X-API-Key": key}).status_code == 200
        assert client.get("/v1/modifiers/25", headers={"X-API-Key": key}).status_code == 429
        # operations are never counted
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
        metrics = client.get("/metrics").text
        assert 'casepilot_quota_rejections_total{tier="guest"} 1.0' in metrics
        assert 'casepilot_quota_rejections_total{tier="registered"} 1.0' in metrics


def test_guest_quota_zero_requires_a_key(app_server, tmp_path):
    keys = tmp_path / "keys.json"
    key = create_key(keys, "dave")
    with app_server(guest_quota_per_day=0, api_keys_file=keys) as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get("/v1/modifiers/25").status_code == 401
        assert client.get("/v1/modifiers/25", headers={"X-API-Key": key}).status_code == 200


def test_new_keys_work_without_a_restart(app_server, tmp_path):
    keys = tmp_path / "keys.json"
    create_key(keys, "first")
    with app_server(api_keys_file=keys) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        later = create_key(keys, "later")
        assert client.get("/v1/modifiers/25", headers={"X-API-Key": later}).status_code == 200


def test_cors_allow_list(api):
    preflight = api.options("/v1/ask/stream", headers={
        "Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    simple = api.get("/v1/modifiers/59", headers={"Origin": CORS_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "retry-after" in simple.headers["access-control-expose-headers"].lower()
    other = api.get("/v1/modifiers/59", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    refused = api.options("/v1/ask", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 400


def test_logs_hold_no_question_text_by_default(live_server, api):
    secret = "Patient Zebediah Quux born 1931-02-03 with a lumbar fracture"
    assert api.post("/v1/ask", json={"question": f"{secret}: is 22514 right?"}).status_code == 200
    assert api.get("/v1/search", params={"q": f"{secret} kyphoplasty"}).status_code == 200
    api.get("/healthz")  # a later line, so the earlier ones are flushed
    log = live_server.log_text()
    assert "Zebediah" not in log and "Quux" not in log
    assert "ask question len=" in log and "hmac=" in log
    assert "POST /v1/ask 200" in log and "GET /v1/search 200" in log


# ---------------------------------------------------------------- quotas (issue 16): per key, per address, the
# UTC-midnight reset on an injected clock, revocation; in memory and in a real redis-server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from redis_live import start_redis


class Clock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = start_redis(tmp_path_factory)
    yield server
    server.stop()


def _client(server, source: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60, transport=httpx.HTTPTransport(local_address=source))


def test_guest_quota_is_per_client_address(app_server):
    with app_server(guest_quota_per_day=1) as server, _client(server) as first, _client(server, "127.0.0.2") as second:
        assert first.get("/v1/modifiers/25").status_code == 200
        assert first.get("/v1/modifiers/25").status_code == 429
        # another address has its own counter
        response = second.get("/v1/modifiers/25")
        assert response.status_code == 200 and response.headers["X-RateLimit-Remaining"] == "0"
        assert second.get("/v1/modifiers/25").status_code == 429


def test_registered_quota_is_per_key(app_server, tmp_path):
    keys = tmp_path / "keys.json"
    one, two = create_key(keys, "one"), create_key(keys, "two")
    with app_server(registered_quota_per_day=2, api_keys_file=keys) as server, _client(server) as client:
        for remaining in ("1", "0"):
            assert client.get("/v1/modifiers/25", headers={"X-API-Key": one}).headers["X-RateLimit-Remaining"] \
                == remaining
        assert client.get("/v1/modifiers/25", headers={"X-API-Key": one}).status_code == 429
        # the same address with the other key: that key's own count
        response = client.get("/v1/modifiers/25", headers={"X-API-Key": two})
        assert response.status_code == 200 and response.headers["X-RateLimit-Remaining"] == "1"


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_quota_resets_at_utc_midnight_on_the_injected_clock(app_server, request, store):
    overrides = {"redis_url": request.getfixturevalue("redis_server").url} if store == "redis" else {}
    clock = Clock(datetime(2026, 3, 1, 23, 59, 50, tzinfo=UTC))
    with app_server(guest_quota_per_day=2, **overrides) as server, _client(server, "127.0.0.3") as client:
        server.app.state.runtime.quotas.clock = clock
        assert [client.get("/v1/modifiers/25").status_code for _ in range(3)] == [200, 200, 429]
        over = client.get("/v1/modifiers/25")
        assert over.headers["Retry-After"] == "11"  # 10 s to midnight, rounded up
        clock.moment = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
        assert client.get("/v1/modifiers/25").status_code == 429  # still the same UTC day
        clock.moment = datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC)
        response = client.get("/v1/modifiers/25")
        assert response.status_code == 200 and response.headers["X-RateLimit-Remaining"] == "1"


def test_redis_quota_is_shared_by_two_apps(app_server, redis_server):
    redis_server.flush()
    with app_server(guest_quota_per_day=3, redis_url=redis_server.url) as one, \
            app_server(guest_quota_per_day=3, redis_url=redis_server.url) as two, \
            _client(one, "127.0.0.4") as to_one, _client(two, "127.0.0.4") as to_two:
        assert to_one.get("/v1/modifiers/25").headers["X-RateLimit-Remaining"] == "2"
        assert to_two.get("/v1/modifiers/25").headers["X-RateLimit-Remaining"] == "1"
        assert to_one.get("/v1/modifiers/25").headers["X-RateLimit-Remaining"] == "0"
        assert to_two.get("/v1/modifiers/25").status_code == 429


def test_revoked_keys_stop_working_at_once(app_server, tmp_path):
    from api.accounts import Accounts

    keys = tmp_path / "keys.json"
    file_key = create_key(keys, "to-revoke")
    accounts = Accounts(tmp_path / "accounts.sqlite")
    account = accounts.register("revoker@clinic.example")
    account_key = accounts.create_key(account, "laptop")
    with app_server(api_keys_file=keys, accounts_db=tmp_path / "accounts.sqlite") as server, _client(server) as client:
        for key in (file_key, account_key):
            assert client.get("/v1/modifiers/25", headers={"X-API-Key": key}).status_code == 200
        assert revoke_key(keys, file_key.split("_")[1])
        assert accounts.revoke_key(account, account_key.split("_")[1])
        for key in (file_key, account_key):
            assert client.get("/v1/modifiers/25", headers={"X-API-Key": key}).status_code == 401
