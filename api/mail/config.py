"""The consultant's configuration: ``rag.settings.MailSettings`` (``settings.mail``, env ``CASEPILOT_MAIL__...``)
plus the few values it takes from the rest of Settings (data directory, quotas, question length). No default is
kept here: every mail default lives on MailSettings.

Allow-list entries (``allowed_senders``): ``coder@clinic.example`` allows that address only; ``clinic.example``
(or ``@clinic.example``) allows every address at that domain and its subdomains. An empty list allows nobody.
"""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import Any

from rag.settings import MailSettings, Settings


class MailConfig(MailSettings):
    data_dir: Path
    guest_quota_per_day: int
    registered_quota_per_day: int
    max_question_chars: int
    outbox_dir: Path | None = None  # default data_dir/outbox
    inbox_dir: Path | None = None   # default data_dir/inbox (accepted SMTP messages not yet answered)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> MailConfig:
        values: dict[str, Any] = {**settings.mail.model_dump(), "data_dir": settings.data_dir,
                                  "guest_quota_per_day": settings.guest_quota_per_day,
                                  "registered_quota_per_day": settings.registered_quota_per_day,
                                  "max_question_chars": settings.max_question_chars}
        unknown = set(overrides) - set(cls.model_fields)
        if unknown:
            raise TypeError(f"unknown mail settings: {sorted(unknown)}")
        return cls.model_validate({**values, **overrides})

    def with_(self, **changes: Any) -> MailConfig:
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise TypeError(f"unknown mail settings: {sorted(unknown)}")
        return type(self).model_validate({**self.model_dump(), **changes})

    @property
    def relay_secret(self) -> str:
        return self.relay_password.get_secret_value() if self.relay_password else ""

    @property
    def outbox(self) -> Path:
        return Path(self.outbox_dir) if self.outbox_dir else Path(self.data_dir) / "outbox"

    @property
    def inbox(self) -> Path:
        return Path(self.inbox_dir) if self.inbox_dir else Path(self.data_dir) / "inbox"

    @property
    def domain(self) -> str:
        return parseaddr(self.address)[1].rpartition("@")[2] or "casepilot.localhost"

    @property
    def trusted_authserv_ids(self) -> tuple[str, ...]:
        return self.authserv_ids or (self.domain.lower(),)

    def allow_entry(self, address: str) -> str | None:
        """The allow-list entry that admits ``address`` (the key its domain quota is counted on), or None."""
        address = (address or "").strip().lower()
        local, at, domain = address.rpartition("@")
        if not at or not local or not domain:
            return None
        for entry in self.allowed_senders:
            if "@" in entry.lstrip("@"):
                if address == entry:
                    return entry
                continue
            allowed = entry.lstrip("@").lstrip(".")
            if domain == allowed or domain.endswith("." + allowed):
                return allowed
        return None

    def sender_allowed(self, address: str) -> bool:
        return self.allow_entry(address) is not None
