"""A small LRU cache of answers and search results.

The same question over the same data gets the same extractive answer, so it is served from memory. Keys hold
the request and the catalog's modification time, so a newly activated release is never answered from an old
entry. Only this process holds the entries (question text included, in memory, never on disk or in logs).
Size: ``CASEPILOT_RESPONSE_CACHE_SIZE`` (entries; 0 switches the cache off).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable

from prometheus_client import Counter

MISSING = object()


class ResponseCache:
    def __init__(self, size: int, counter: Counter | None = None):
        self.size = max(0, int(size))
        self.counter = counter
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, name: str, key: Hashable) -> Any:
        if not self.size:
            return MISSING
        with self._lock:
            value = self._entries.get((name, key), MISSING)
            if value is not MISSING:
                self._entries.move_to_end((name, key))
        if self.counter is not None:
            self.counter.labels(name, "hit" if value is not MISSING else "miss").inc()
        return value

    def put(self, name: str, key: Hashable, value: Any) -> None:
        if not self.size:
            return
        with self._lock:
            self._entries[(name, key)] = value
            self._entries.move_to_end((name, key))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
