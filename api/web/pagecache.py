"""Rendered code-page bodies, kept per release: the part of a code page that is the same for every visitor
(descriptors, edits, MUE, modifiers, sources) is built and rendered once per (code, PTP pages, table, release)
and reused until a release changes; the header, the question box and the quota line are rendered per visitor.
Bounded by bytes (a 500-row page is about 200 KiB)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from markupsafe import Markup

DEFAULT_BUDGET_BYTES = 32 * 1024 * 1024


class BodyCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES):
        self.budget = budget_bytes
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple, tuple[Markup, dict]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple) -> tuple[Markup, dict] | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple, body: Markup, meta: dict) -> None:
        size = len(body)
        if size > self.budget:
            return
        with self._lock:
            if key in self._items:
                self._bytes -= len(self._items.pop(key)[0])
            self._items[key] = (body, meta)
            self._bytes += size
            while self._bytes > self.budget:
                _, (old, _) = self._items.popitem(last=False)
                self._bytes -= len(old)
