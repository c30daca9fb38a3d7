"""Web sessions: a random token in a cookie, the session itself (account id, CSRF token) in the store.

The store is Redis when ``settings.redis_url`` is set (every replica sees a sign-in, and a restart keeps it),
else this process's memory. Only a hash of the cookie's token is used as the key, so the store's contents do
not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass

SESSION_COOKIE = "cp_session"
KEY_PREFIX = "casepilot:session:"


@dataclass(frozen=True)
class Session:
    account_id: str
    email: str
    csrf: str


def _key(token: str) -> str:
    return KEY_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


class MemorySessions:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, Session]] = {}

    def put(self, key: str, session: Session, ttl_s: int) -> None:
        with self._lock:
            now = time.time()
            self._items = {k: v for k, v in self._items.items() if v[0] > now}  # drop the expired ones
            self._items[key] = (now + ttl_s, session)

    def get(self, key: str) -> Session | None:
        with self._lock:
            item = self._items.get(key)
        return item[1] if item and item[0] > time.time() else None

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class RedisSessions:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def put(self, key: str, session: Session, ttl_s: int) -> None:
        self.client.set(key, json.dumps(asdict(session)), ex=ttl_s)

    def get(self, key: str) -> Session | None:
        raw = self.client.get(key)
        return Session(**json.loads(raw)) if raw else None

    def delete(self, key: str) -> None:
        self.client.delete(key)


class Sessions:
    def __init__(self, redis_url: str | None, days: int):
        self.backend = RedisSessions(redis_url) if redis_url else MemorySessions()
        self.ttl_s = days * 86_400

    def create(self, account_id: str, email: str) -> str:
        token = secrets.token_urlsafe(32)
        self.backend.put(_key(token), Session(account_id, email, secrets.token_urlsafe(24)), self.ttl_s)
        return token

    def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 200:
            return None
        return self.backend.get(_key(token))

    def end(self, token: str | None) -> None:
        if token and len(token) <= 200:
            self.backend.delete(_key(token))
