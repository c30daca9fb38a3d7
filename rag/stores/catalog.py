"""Which release of each dataset (reference tables and passage sources) is active.

The catalog is a small JSON file replaced atomically (write to a temporary file, then rename), so a reader
sees either the old release or the new one, never a mix. Writers take an exclusive lock. Several releases
(a dataset's reference rows and its passages) can be activated in one write: together or not at all.

Releases being written but not yet active are recorded beside it (``.pending.json``), so that what a killed
ingest left behind can be found and removed by the next one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from rag.stores.schema import Release

CATALOG_FILE = "catalog.json"
PENDING_FILE = ".pending.json"


@dataclasses.dataclass(frozen=True)
class PendingRelease:
    """A release an ingest (process ``pid``) has started to write and not yet activated."""

    section: str
    dataset: str
    version: str
    pid: int


class Catalog:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / CATALOG_FILE
        self.pending_path = self.data_dir / PENDING_FILE

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
        return self.activate_together([(section, release)])[0]

    def activate_together(self, releases: Sequence[tuple[str, Release]]) -> list[Release | None]:
        """Activate every (section, release) in one catalog write; returns the releases they replaced, in order."""
        previous: list[Release | None] = []
        with self.locked():
            data = self.read()
            for section, release in releases:
                entry = data.setdefault(section, {}).setdefault(release.dataset, {"active": None, "history": []})
                previous.append(Release(**entry["active"]) if entry.get("active") else None)
                entry["active"] = dataclasses.asdict(release)
                entry["history"] = [h for h in entry["history"] if h["version"] != release.version]
                entry["history"].append(dataclasses.asdict(release))
            self._write(self.path, data)
            done = {(section, release.dataset, release.version) for section, release in releases}
            self._write_pending([p for p in self._read_pending()
                                 if (p.section, p.dataset, p.version) not in done])
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
            self._write(self.path, data)
        return [Release(**h) for h in dropped]

    # ------------------------------------------------------------ releases being written

    def mark_pending(self, section: str, dataset: str, version: str) -> PendingRelease:
        pending = PendingRelease(section, dataset, version, os.getpid())
        with self.locked():
            self._write_pending([*self._read_pending(), pending])
        return pending

    def pending(self) -> list[PendingRelease]:
        return self._read_pending()

    def forget_pending(self, done: Sequence[PendingRelease]) -> None:
        with self.locked():
            self._write_pending([p for p in self._read_pending() if p not in done])

    def _read_pending(self) -> list[PendingRelease]:
        if not self.pending_path.exists():
            return []
        return [PendingRelease(**entry) for entry in json.loads(self.pending_path.read_text())]

    def _write_pending(self, pending: list[PendingRelease]) -> None:
        if pending or self.pending_path.exists():
            self._write(self.pending_path, [dataclasses.asdict(p) for p in dict.fromkeys(pending)])

    def _write(self, path: Path, data: dict | list) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".catalog-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
