"""Timings, taken one way everywhere: ``with timings.measure("embed_ms"):`` adds the block's milliseconds."""

from __future__ import annotations

import contextlib
import time
from typing import Iterator


class Timings:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.ms: dict[str, float] = {}

    @contextlib.contextmanager
    def measure(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - started) * 1000

    def add(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.ms[name] = self.ms.get(name, 0.0) + value

    def total(self, name: str = "total_ms") -> float:
        """Milliseconds since these timings began, recorded as ``name``."""
        self.ms[name] = (time.perf_counter() - self.started) * 1000
        return self.ms[name]

    def rounded(self) -> dict[str, float]:
        return {name: round(value, 2) for name, value in self.ms.items()}
