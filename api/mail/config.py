"""Mail settings, read from rag.settings.Settings with defaults (``getattr(settings, "mail_...", default)``),
so the package works before the ``mail_*`` fields exist on Settings. Tests and the benchmark build a
MailConfig directly, or pass overrides to :meth:`MailConfig.from_settings`.

Until the fields are on Settings, each is read from its environment variable (``CASEPILOT_MAIL_...``) here.

Allow-list entries (``mail_allowed_senders``): ``coder@clinic.example`` allows that address only;
``clinic.example`` (or ``@clinic.example``) allows every address at that domain and its subdomains. An empty
list allows nobody: the consultant answers no one until senders are listed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, replace
from email.utils import parseaddr
from pathlib import Path

DEFAULT_ADDRESS = "consultant@casepilot.localhost"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def _as_list(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = text.strip("[]").split(",")
        else:
            value = text.replace(";", ",").split(",")
    return tuple(str(v).strip().lower() for v in value if str(v).strip())


def _from_env(name: str, default):
    text = os.environ.get(f"CASEPILOT_{name.upper()}")
    if text is None:
        return default
    if isinstance(default, bool):
        return text.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(text)
    return text


@dataclass(frozen=True)
class MailConfig:
    data_dir: Path = Path("data")
    address: str = DEFAULT_ADDRESS              # From: of replies
    display_name: str = "CasePilot CaseConsultant"
    allowed_senders: tuple[str, ...] = ()
    smtp_enabled: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    max_bytes: int = DEFAULT_MAX_BYTES           # a whole message, headers and attachments included
    max_questions: int = 10                      # answered per message; the rest are listed as not answered
    workers: int = 2                             # threads answering queued SMTP messages
    relay_host: str | None = None                # deliver replies by SMTP here; None: Maildir outbox only
    relay_port: int = 25
    relay_starttls: bool = False
    relay_username: str | None = None
    relay_password: str | None = None
    relay_timeout_s: float = 30.0
    log_bodies: bool = False                     # log message text (else sizes and a keyed hash only)
    guest_quota_per_day: int = 50
    registered_quota_per_day: int = 1000
    max_question_chars: int = 2000
    outbox_dir: Path | None = None               # default data_dir/outbox
    inbox_dir: Path | None = None                # default data_dir/inbox (accepted SMTP messages not yet answered)

    @classmethod
    def from_settings(cls, settings, **overrides) -> "MailConfig":
        def get(name, default):
            if hasattr(settings, name):
                value = getattr(settings, name)
            else:  # a field not (yet) on Settings: the same CASEPILOT_ variable, read here
                value = _from_env(name, default)
            return value.get_secret_value() if hasattr(value, "get_secret_value") else value

        values = dict(
            data_dir=Path(get("data_dir", Path("data"))),
            address=get("mail_address", DEFAULT_ADDRESS),
            display_name=get("mail_display_name", "CasePilot CaseConsultant"),
            allowed_senders=_as_list(get("mail_allowed_senders", ())),
            smtp_enabled=bool(get("mail_smtp_enabled", False)),
            smtp_host=get("mail_smtp_host", "127.0.0.1"),
            smtp_port=int(get("mail_smtp_port", 8025)),
            max_bytes=int(get("mail_max_bytes", DEFAULT_MAX_BYTES)),
            max_questions=int(get("mail_max_questions", 10)),
            workers=int(get("mail_workers", 2)),
            relay_host=get("mail_relay_host", None) or None,
            relay_port=int(get("mail_relay_port", 25)),
            relay_starttls=bool(get("mail_relay_starttls", False)),
            relay_username=get("mail_relay_username", None) or None,
            relay_password=get("mail_relay_password", None) or None,
            log_bodies=bool(get("mail_log_bodies", False)),
            guest_quota_per_day=int(get("guest_quota_per_day", 50)),
            registered_quota_per_day=int(get("registered_quota_per_day", 1000)),
            max_question_chars=int(get("max_question_chars", 2000)),
        )
        names = {f.name for f in fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise TypeError(f"unknown mail settings: {sorted(unknown)}")
        values.update(overrides)
        if "allowed_senders" in overrides:
            values["allowed_senders"] = _as_list(overrides["allowed_senders"])
        return cls(**values)

    def with_(self, **changes) -> "MailConfig":
        if "allowed_senders" in changes:
            changes["allowed_senders"] = _as_list(changes["allowed_senders"])
        return replace(self, **changes)

    @property
    def outbox(self) -> Path:
        return Path(self.outbox_dir) if self.outbox_dir else Path(self.data_dir) / "outbox"

    @property
    def inbox(self) -> Path:
        return Path(self.inbox_dir) if self.inbox_dir else Path(self.data_dir) / "inbox"

    @property
    def domain(self) -> str:
        return parseaddr(self.address)[1].rpartition("@")[2] or "casepilot.localhost"

    def sender_allowed(self, address: str) -> bool:
        address = (address or "").strip().lower()
        local, at, domain = address.rpartition("@")
        if not at or not local or not domain:
            return False
        for entry in self.allowed_senders:
            if "@" in entry.lstrip("@"):
                if address == entry:
                    return True
                continue
            allowed = entry.lstrip("@").lstrip(".")
            if domain == allowed or domain.endswith("." + allowed):
                return True
        return False
