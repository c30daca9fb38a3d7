"""Reading what the app sent through its Maildir outbox (sign-in mails), for the web and browser tests."""

from __future__ import annotations

import mailbox
import re
from pathlib import Path

LINK = re.compile(r"(https?://\S+/sign-in\?\S+)")


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
