"""Access: API keys, the guest and registered tiers, daily quotas, and what the logs may hold.

API keys
    A key looks like ``cp_<id>_<secret>``. The keys file (``settings.api_keys_file``, JSON) holds, per key, its
    id, a random salt and ``sha256(salt + secret)``; never the key itself. The secret is 32 random bytes, so a
    fast salted hash is enough (there is nothing to brute-force as there would be with a password). Create one
    with ``casepilot-serve create-key --name NAME`` (or :func:`create_key`): the key is printed once.
    Clients send it as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``. A key that is sent but does
    not verify gets 401, never the guest tier. The file is re-read when it changes, so new keys work at once.

Tiers and quotas
    No key: the guest tier, counted per client address. A valid key: the registered tier, counted per key.
    Each tier has its own requests-per-day quota (``guest_quota_per_day``, ``registered_quota_per_day``; a
    guest quota of 0 means keys are required). Days are UTC days. Over quota: 429 with ``Retry-After`` (seconds
    to the next UTC midnight) and a JSON body saying which quota ran out. Counters live in this process by
    default; with ``settings.redis_url = redis://...`` they live in Redis, shared by every replica and
    kept across restarts (the ``limits`` library's fixed-window strategy, keyed by the UTC day).

Privacy of questions
    A question may hold patient details. The logs never hold a question, search text or request body unless
    ``settings.log_questions`` is true: they hold its length and a keyed hash (HMAC-SHA256 with a per-process
    random key, so equal questions can be matched within one run but the text cannot be recovered by hashing
    guesses). The uvicorn access log is switched off, because it prints query strings (``/v1/search?q=...``);
    the API logs method, route template, status and duration instead. Validation errors never echo input.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from limits import RateLimitItemPerDay
from limits.errors import StorageError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger("casepilot.api")

Tier = Literal["guest", "registered"]
KEY_PREFIX = "cp_"


@dataclass(frozen=True)
class Principal:
    tier: Tier
    identity: str  # key id, or the guest's client address
    name: str = ""


# ---------------------------------------------------------------- keys

def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("utf-8")).hexdigest()


def _read(path: Path) -> dict:
    if not path.exists():
        return {"keys": []}
    return json.loads(path.read_text(encoding="utf-8") or '{"keys": []}')


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.replace(temporary, path)


def create_key(path: Path, name: str, tier: Tier = "registered") -> str:
    """Add a key to the keys file and return it: the only time the full key exists outside the client."""
    path = Path(path)
    key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(16)
    data = _read(path)
    data.setdefault("keys", []).append({
        "id": key_id, "name": name, "tier": tier, "salt": salt, "sha256": _hash(salt, secret),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    })
    _write(path, data)
    return f"{KEY_PREFIX}{key_id}_{secret}"


def revoke_key(path: Path, key_id: str) -> bool:
    data = _read(Path(path))
    kept = [k for k in data.get("keys", []) if k.get("id") != key_id]
    changed = len(kept) != len(data.get("keys", []))
    if changed:
        _write(Path(path), {**data, "keys": kept})
    return changed


class KeyStore:
    """Verifies keys against the hashed keys file, re-reading it when its modification time changes, and then
    against the accounts store's keys (made and revoked on the account page), when one is given."""

    def __init__(self, path: Path | None, accounts=None):
        self.path = Path(path) if path else None
        self.accounts = accounts  # api.accounts.Accounts, or None
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._keys: dict[str, dict] = {}

    @classmethod
    def from_settings(cls, settings) -> KeyStore:
        from api.accounts import Accounts

        return cls(settings.api_keys_file, Accounts(settings.accounts_path))

    def _load(self) -> dict[str, dict]:
        if self.path is None:
            return {}
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        with self._lock:
            if mtime != self._mtime:
                try:
                    entries = _read(self.path).get("keys", [])
                    self._keys = {k["id"]: k for k in entries if {"id", "salt", "sha256"} <= k.keys()}
                except (OSError, ValueError) as error:
                    log.error("cannot read the API keys file %s: %s", self.path, error)
                    self._keys = {}
                self._mtime = mtime
            return self._keys

    def verify(self, key: str) -> Principal | None:
        if not key.startswith(KEY_PREFIX) or key.count("_") < 2:
            return None
        key_id, _, secret = key[len(KEY_PREFIX):].partition("_")
        entry = self._load().get(key_id)
        if entry is None:
            return self.accounts.verify_key(key_id, secret) if self.accounts is not None else None
        if not hmac.compare_digest(_hash(entry["salt"], secret), entry["sha256"]):
            return None
        return Principal(tier=entry.get("tier", "registered"), identity=f"key:{key_id}", name=entry.get("name", ""))


# ---------------------------------------------------------------- quotas

Clock = Callable[[], datetime]

try:  # what an unreachable Redis raises (redis-py's errors are not OSErrors)
    from redis.exceptions import RedisError
    STORE_ERRORS: tuple[type[BaseException], ...] = (OSError, StorageError, RedisError)
except ImportError:
    STORE_ERRORS = (OSError, StorageError)


def utc_now() -> datetime:
    return datetime.now(UTC)


def seconds_to_midnight_utc(now: datetime | None = None) -> int:
    now = now or utc_now()
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()) + 1)


def quota_storage(uri: str | None) -> Storage:
    """The counters' store: ``memory://`` (this process, the default) or ``redis://host:port/db`` (shared by
    every replica, and kept across restarts)."""
    return storage_from_string(uri or "memory://")


class Quotas:
    """Requests per UTC day, per identity, counted by the ``limits`` library's fixed-window strategy.

    The library's fixed window starts at an identity's first request; a calendar day is wanted here, so the
    UTC date (from ``clock``, injectable for tests) is part of the counter's key: a new day is a new counter,
    and the library's expiry (one day from the first hit) only cleans the old ones up. ``namespace`` keeps
    the API's counters apart from other quotas (web page views, questions) in one store."""

    def __init__(self, limits: dict[str, int], storage: Storage | str | None = None, *,
                 clock: Clock = utc_now, namespace: str = "api"):
        self.limits = limits
        self.storage = storage if isinstance(storage, Storage) else quota_storage(storage)
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.clock = clock
        self.namespace = namespace
        self._items = {tier: RateLimitItemPerDay(max(limit, 1)) for tier, limit in limits.items()}

    @classmethod
    def from_settings(cls, settings, **options) -> Quotas:
        return cls({"guest": settings.guest_quota_per_day, "registered": settings.registered_quota_per_day},
                   settings.redis_url, **options)

    def _key(self, principal: Principal) -> tuple[str, ...]:
        return (self.namespace, principal.tier, principal.identity, self.clock().strftime("%Y-%m-%d"))

    def hit(self, principal: Principal) -> tuple[bool, int, int]:
        """Count one request; returns (allowed, limit, remaining)."""
        limit = self.limits[principal.tier]
        if limit <= 0:
            return False, limit, 0
        item, key = self._items[principal.tier], self._key(principal)
        try:
            allowed = self.limiter.hit(item, *key)
            remaining = self.limiter.get_window_stats(item, *key).remaining
        except STORE_ERRORS as error:  # the shared store is down: serve (a quota is not worth an outage), say so
            log.error("quota store unreachable (%s): request allowed uncounted", type(error).__name__)
            return True, limit, limit
        return allowed, limit, remaining

    def remaining(self, principal: Principal) -> int:
        """What is left today, without counting a request."""
        limit = self.limits[principal.tier]
        if limit <= 0:
            return 0
        try:
            return self.limiter.get_window_stats(self._items[principal.tier], *self._key(principal)).remaining
        except STORE_ERRORS as error:
            log.error("quota store unreachable (%s)", type(error).__name__)
            return limit

    def retry_after(self) -> int:
        return seconds_to_midnight_utc(self.clock())


# ---------------------------------------------------------------- logging questions

_LOG_KEY = secrets.token_bytes(32)


def fingerprint(text: str) -> str:
    return hmac.new(_LOG_KEY, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]


def describe_text(text: str, log_questions: bool) -> str:
    """What a log line may say about a question or search text."""
    if log_questions:
        return repr(text[:2000])
    return f"len={len(text)} hmac={fingerprint(text)}"


# ---------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    from rag.settings import get_settings

    parser = argparse.ArgumentParser(prog="casepilot-serve create-key", description="Create or revoke an API key")
    parser.add_argument("--name", required=False, default="", help="who the key is for")
    parser.add_argument("--file", type=Path, help="keys file (default: CASEPILOT_API_KEYS_FILE)")
    parser.add_argument("--revoke", metavar="KEY_ID", help="remove the key with this id instead")
    args = parser.parse_args(argv)
    path = args.file or get_settings().api_keys_file
    if path is None:
        parser.error("no keys file: pass --file or set CASEPILOT_API_KEYS_FILE")
    if args.revoke:
        found = revoke_key(path, args.revoke)
        print("revoked" if found else "no such key id")
        return 0 if found else 1
    if not args.name:
        parser.error("--name is required")
    key = create_key(path, args.name)
    print(key)
    print(f"# stored hashed in {path}; this is the only time the key is shown", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
