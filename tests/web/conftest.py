"""Fixtures for the page tests: create_app over the session's query service on a real uvicorn in a thread,
with page-view quotas, an accounts file and a Maildir outbox of the test's own."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loopback import ThreadServer
from mail_outbox import sign_in_link  # noqa: F401  (re-exported for the tiers' tests)



@pytest.fixture
def web_server(casepilot, tmp_path):
    """A factory: ``with web_server(guest_page_views_per_day=1) as server``. Accounts live in tmp_path; the
    sign-in mails go to the data directory's Maildir outbox, found by recipient (see ``sign_in_link``)."""
    from api.main import create_app
    from rag.settings import Settings

    @contextmanager
    def start(**overrides):
        values = {"accounts_db": tmp_path / "accounts.sqlite", "cookie_secure": False, **overrides}
        settings = Settings(data_dir=casepilot.settings.data_dir, **values)
        with ThreadServer(create_app(settings, casepilot=casepilot)) as server:
            server.settings = settings
            yield server

    return start
