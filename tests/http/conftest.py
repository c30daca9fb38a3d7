"""Fixtures for the HTTP tests: a real casepilot-serve subprocess, and in-process servers over the session's
query service. See casepilot_live.py."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from casepilot_live import ThreadServer, shared_server  # noqa: E402


@pytest.fixture(scope="session")
def live_server(full_data_dir, tmp_path_factory):
    """casepilot-serve on a free loopback port over its own copy of the full data (copied before the
    in-process query service opens the original: request this fixture first)."""
    server, _ = shared_server(full_data_dir, tmp_path_factory)
    yield server
    server.stop()  # idempotent; session fixtures end after every test, the browser tests' included


@pytest.fixture(scope="session")
def api_key(live_server, full_data_dir, tmp_path_factory) -> str:
    return shared_server(full_data_dir, tmp_path_factory)[1]


@pytest.fixture
def api(live_server):
    with httpx.Client(base_url=live_server.url, timeout=120) as client:
        yield client


@pytest.fixture
def app_server(live_server, casepilot, tmp_path):
    """A factory: ``with app_server(guest_quota_per_day=2) as server`` starts create_app(settings, the session's
    query service) on uvicorn in a thread. Depends on live_server so the data copy is made first."""
    from api.main import create_app
    from rag.settings import Settings

    @contextmanager
    def start(**overrides):
        settings = Settings(data_dir=casepilot.settings.data_dir, **overrides)
        with ThreadServer(create_app(settings, casepilot=casepilot)) as server:
            yield server

    return start
