"""Fixtures for the page tests: create_app over the session's query service on a real uvicorn in a thread,
with page-view quotas, an accounts file and a Maildir outbox of the test's own."""

from __future__ import annotations

import mailbox
import re
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loopback import ThreadServer

LINK = re.compile(r"(https?://\S+/sign-in\?\S+)")


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


def sign_in_link(outbox: Path, address: str) -> str:
    """The link in the newest sign-in mail to ``address`` in a Maildir outbox."""
    found = []
    for message in mailbox.Maildir(outbox, factory=None, create=False):
        if message["To"] == address and "sign-in" in (message["Subject"] or ""):
            found.append((message["Date"] or "", message.get_payload(decode=True).decode()))
    assert found, f"no sign-in mail to {address} in {outbox}"
    match = LINK.search(found[-1][1])
    assert match, "the mail carries no sign-in link"
    return match.group(1)
