"""Accounts: self-service registration by email, one-time sign-in links, and the API keys an account owns.

One SQLite file (``settings.accounts_path``, default ``data_dir/accounts.sqlite``), shared by every replica on
one host (WAL mode). Nothing secret is stored in the clear: a sign-in token and an API key's secret are kept as
hashes only (both are 32 random bytes, so a fast hash is enough). A sign-in link works once, until it expires.
An account's API keys verify exactly like the keys file's (``cp_<id>_<secret>``), and a revoked key stops
working at once (``api.access.KeyStore`` asks this store on every request with an account key).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.access import KEY_PREFIX, Principal, _hash

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, created TEXT NOT NULL, last_sign_in TEXT);
CREATE TABLE IF NOT EXISTS sign_in_tokens (
    token_sha256 TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), expires TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(id), name TEXT NOT NULL, salt TEXT NOT NULL,
    sha256 TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT);
CREATE INDEX IF NOT EXISTS api_keys_by_account ON api_keys(account_id);
"""

# Deliberately plain: one @, no spaces, a dot in the domain. The sign-in link proves the address works.
EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
MAX_KEYS_PER_ACCOUNT = 10


class AccountError(ValueError):
    """Input a person can correct (shown on the page)."""


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    created: str


@dataclass(frozen=True)
class AccountKey:
    id: str
    name: str
    created: str
    revoked: str | None


def normalize_email(email: str) -> str:
    email = (email or "").strip()
    if len(email) > 254 or not EMAIL.match(email):
        raise AccountError("enter an email address such as coder@clinic.example")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        """One connection per thread (sqlite3 connections are not shared across threads safely)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.row_factory = sqlite3.Row
            self._local.connection = connection
        return connection

    # ------------------------------------------------------------ accounts and sign-in links

    def register(self, email: str) -> Account:
        """The account for this address, created on first use (registering twice is signing in again)."""
        email = normalize_email(email)
        db = self._connect()
        db.execute("INSERT OR IGNORE INTO accounts (id, email, created) VALUES (?, ?, ?)",
                   (secrets.token_hex(8), email, _stamp(_now())))
        row = db.execute("SELECT id, email, created FROM accounts WHERE email = ? COLLATE NOCASE",
                         (email,)).fetchone()
        return Account(row["id"], row["email"], row["created"])

    def get(self, account_id: str) -> Account | None:
        row = self._connect().execute("SELECT id, email, created FROM accounts WHERE id = ?",
                                      (account_id,)).fetchone()
        return Account(row["id"], row["email"], row["created"]) if row else None

    def issue_sign_in_token(self, account: Account, minutes: int) -> str:
        token = secrets.token_urlsafe(32)
        self._connect().execute("INSERT INTO sign_in_tokens (token_sha256, account_id, expires) VALUES (?, ?, ?)",
                                (_token_hash(token), account.id, _stamp(_now() + timedelta(minutes=minutes))))
        return token

    def redeem(self, token: str) -> Account | None:
        """The account a sign-in link is for, once: a used, expired or unknown token gives None."""
        if not token or len(token) > 200:
            return None
        db = self._connect()
        # One UPDATE both checks and spends the token, so two replicas cannot both redeem it.
        cursor = db.execute("UPDATE sign_in_tokens SET used = 1 WHERE token_sha256 = ? AND used = 0 AND expires > ?",
                            (_token_hash(token), _stamp(_now())))
        if cursor.rowcount != 1:
            return None
        row = db.execute("SELECT account_id FROM sign_in_tokens WHERE token_sha256 = ?",
                         (_token_hash(token),)).fetchone()
        db.execute("UPDATE accounts SET last_sign_in = ? WHERE id = ?", (_stamp(_now()), row["account_id"]))
        return self.get(row["account_id"])

    # ------------------------------------------------------------ API keys

    def create_key(self, account: Account, name: str) -> str:
        """A new key for the account; returned once (only its salted hash is stored)."""
        name = " ".join((name or "").split())[:60] or "API key"
        db = self._connect()
        active = db.execute("SELECT count(*) FROM api_keys WHERE account_id = ? AND revoked IS NULL",
                            (account.id,)).fetchone()[0]
        if active >= MAX_KEYS_PER_ACCOUNT:
            raise AccountError(f"an account may hold {MAX_KEYS_PER_ACCOUNT} keys: revoke one first")
        key_id, secret, salt = "a" + secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(16)
        db.execute("INSERT INTO api_keys (id, account_id, name, salt, sha256, created) VALUES (?, ?, ?, ?, ?, ?)",
                   (key_id, account.id, name, salt, _hash(salt, secret), _stamp(_now())))
        return f"{KEY_PREFIX}{key_id}_{secret}"

    def keys(self, account: Account) -> list[AccountKey]:
        rows = self._connect().execute("SELECT id, name, created, revoked FROM api_keys WHERE account_id = ? "
                                       "ORDER BY created, id", (account.id,))
        return [AccountKey(r["id"], r["name"], r["created"], r["revoked"]) for r in rows]

    def revoke_key(self, account: Account, key_id: str) -> bool:
        cursor = self._connect().execute(
            "UPDATE api_keys SET revoked = ? WHERE id = ? AND account_id = ? AND revoked IS NULL",
            (_stamp(_now()), key_id, account.id))
        return cursor.rowcount == 1

    def verify_key(self, key_id: str, secret: str) -> Principal | None:
        row = self._connect().execute("SELECT account_id, salt, sha256 FROM api_keys WHERE id = ? AND revoked IS NULL",
                                      (key_id,)).fetchone()
        if row is None or not hmac.compare_digest(_hash(row["salt"], secret), row["sha256"]):
            return None
        return Principal(tier="registered", identity=f"key:{key_id}", name=f"account:{row['account_id']}")
