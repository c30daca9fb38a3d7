"""Limits the mail intake keeps besides the API's per-principal quotas (api.access.Quotas):

- :class:`DailyCounts`: messages per UTC day per key (the allow-list entry of a sender's domain, so rotating
  local parts or subdomains under one allowed domain share one count);
- :class:`RateWindow`: messages per minute per client address (HTTP caller or SMTP peer);
- :class:`ConnectionCounts`: open SMTP connections per peer.

In memory, per process, like the quotas.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime

# Forget idle clients once this many are tracked, so rotating addresses cannot grow the tables without bound.
MAX_TRACKED = 10_000


def normalized_sender(address: str) -> str:
    """The mailbox an address reaches: lower case, without a +tag sub-address (jane+1@x and jane+2@x are one)."""
    local, _, domain = (address or "").strip().lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}" if local else domain


class DailyCounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._day = ""
        self._counts: dict[str, int] = {}

    def hit(self, key: str, limit: int) -> bool:
        """Count one message for ``key``; False (and not counted) once ``limit`` is reached today."""
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        with self._lock:
            if today != self._day:
                self._day, self._counts = today, {}
            used = self._counts.get(key, 0)
            if used >= limit:
                return False
            self._counts[key] = used + 1
            return True


class RateWindow:
    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> bool:
        """Count one event for ``key``; False (and not counted) when ``limit`` happened in the last window."""
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > MAX_TRACKED:
                self._hits = {k: q for k, q in self._hits.items() if q and q[-1] > now - self.window_s}
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True


class ConnectionCounts:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}

    def open(self, key: str) -> bool:
        with self._lock:
            if self._open.get(key, 0) >= self.limit:
                return False
            self._open[key] = self._open.get(key, 0) + 1
            return True

    def close(self, key: str) -> None:
        with self._lock:
            left = self._open.get(key, 0) - 1
            if left > 0:
                self._open[key] = left
            else:
                self._open.pop(key, None)
