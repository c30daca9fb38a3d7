"""Two casepilot-serve processes (real uvicorn on loopback, each over its own copy of the data) sharing one real
redis-server: the API quota, the page-view quota and sign-in sessions hold across both replicas and across a
restart of one of them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest
from mail_outbox import sign_in_link

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))

from casepilot_live import SubprocessServer, copy_data_dir
from redis_live import start_redis

pytestmark = [pytest.mark.http, pytest.mark.shared_data]

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def replicas(full_data_dir, tmp_path, tmp_path_factory):
    redis = start_redis(tmp_path_factory)
    shared = tmp_path / "shared"
    shared.mkdir()
    env = {"CASEPILOT_REDIS_URL": redis.url, "CASEPILOT_GUEST_QUOTA_PER_DAY": "4",
           "CASEPILOT_GUEST_PAGE_VIEWS_PER_DAY": "3", "CASEPILOT_REGISTERED_PAGE_VIEWS_PER_DAY": "5",
           "CASEPILOT_ACCOUNTS_DB": str(shared / "accounts.sqlite"), "CASEPILOT_COOKIE_SECURE": "false"}
    servers = []
    for name in ("one", "two"):
        workdir = tmp_path / name
        data = copy_data_dir(full_data_dir, workdir / "data")
        servers.append(SubprocessServer(data, workdir, env=env))
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()
        redis.stop()


def test_quotas_and_sessions_hold_across_two_replicas_and_a_restart(replicas):
    one, two = replicas
    with httpx.Client(timeout=60) as client:
        remaining = [client.get(f"{url}/v1/modifiers/25").headers.get("X-RateLimit-Remaining")
                     for url in (one.url, two.url, one.url, two.url)]
        assert remaining == ["3", "2", "1", "0"]
        assert client.get(f"{one.url}/v1/modifiers/25").status_code == 429

        assert [client.get(f"{url}/codes/22514").status_code for url in (one.url, two.url, one.url, two.url)] \
            == [200, 200, 200, 429]

        # sign in on replica one; the session (in Redis) is valid on replica two
        address = "replica@clinic.example"
        form = client.get(f"{one.url}/register")
        assert client.post(f"{one.url}/register", data={"email": address, "csrf": CSRF.search(form.text).group(1),
                                                        "next": "/account"}).status_code == 200
        link = sign_in_link(one.data_dir / "outbox", address)
        confirm = client.get(link)
        token = re.search(r'name="token" value="([^"]+)"', confirm.text).group(1)
        signed = client.post(f"{one.url}/sign-in", data={"csrf": CSRF.search(confirm.text).group(1), "token": token})
        assert signed.status_code == 303
        assert address in client.get(f"{two.url}/account").text

    two.stop()
    two.start()  # same port, same Redis: nothing forgotten
    with httpx.Client(timeout=60) as guest:
        over = guest.get(f"{two.url}/v1/modifiers/25")
        assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
        assert guest.get(f"{two.url}/codes/22511").status_code == 429
    with httpx.Client(timeout=60, cookies=client.cookies) as signed_in:
        assert address in signed_in.get(f"{two.url}/account").text
