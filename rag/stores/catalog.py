"""Which release of each dataset (reference tables and passage sources) is active.

The catalog is a small JSON file replaced atomically (write to a temporary file, then rename), so a reader
sees either the old release or the new one, never a mix. Writers take an exclusive lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from rag.stores.schema import Release

CATALOG_FILE = "catalog.json"


class Catalog:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / CATALOG_FILE

    def read(self) -> dict:
        if not self.path.exists():
            return {"reference": {}, "passages": {}}
        return json.loads(self.path.read_text())

    def active(self, section: str) -> dict[str, Release]:
        return self.entries(self.read(), section)

    @staticmethod
    def entries(data: dict, section: str) -> dict[str, Release]:
        """The active releases of one section of a catalog already read."""
        entries = data.get(section, {})
        return {name: Release(**entry["active"]) for name, entry in entries.items() if entry.get("active")}

    def history(self, section: str, name: str) -> list[Release]:
        entry = self.read().get(section, {}).get(name, {})
        return [Release(**r) for r in entry.get("history", [])]

    def mtime(self) -> float:
        return self.path.stat().st_mtime if self.path.exists() else 0.0

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".catalog.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def activate(self, section: str, release: Release) -> Release | None:
        """Make ``release`` the active one for its dataset; returns the release it replaced."""
        with self.locked():
            data = self.read()
            entry = data.setdefault(section, {}).setdefault(release.dataset, {"active": None, "history": []})
            previous = Release(**entry["active"]) if entry.get("active") else None
            entry["active"] = dataclasses.asdict(release)
            entry["history"] = [h for h in entry["history"] if h["version"] != release.version]
            entry["history"].append(dataclasses.asdict(release))
            self._write(data)
        return previous

    def forget(self, section: str, name: str, versions: set[str]) -> list[Release]:
        """Drop inactive ``versions`` of ``name`` from its history (the active release is never dropped)."""
        with self.locked():
            data = self.read()
            entry = data.get(section, {}).get(name)
            if not entry:
                return []
            active = (entry.get("active") or {}).get("version")
            dropped = [h for h in entry["history"] if h["version"] in versions and h["version"] != active]
            entry["history"] = [h for h in entry["history"] if h not in dropped]
            self._write(data)
        return [Release(**h) for h in dropped]

    def _write(self, data: dict) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".catalog-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
