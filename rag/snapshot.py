"""One consistent view of the data per request: which releases are active, and a token that names them.

The catalog (rag.stores.catalog) is the only record of what is active. ``DataSource.changed()`` looks at it
(one ``stat``); when it changed, ``load()`` reads the catalog once and builds a new ``DataSnapshot``.
Everything a request reads (reference rows, passage releases, caches keyed on ``version``) comes from the one
snapshot it took, so a release switched in mid-request is seen by the next request, never half by this one.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from rag.stores.catalog import Catalog
from rag.stores.reference import ReferenceStore
from rag.stores.schema import Release


@dataclass(frozen=True)
class CatalogStamp:
    """What changes whenever the catalog file is replaced (it is written to a new file, then renamed)."""

    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> "CatalogStamp | None":
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return None
        return cls(stat.st_ino, stat.st_mtime_ns, stat.st_size)


@dataclass(frozen=True)
class DataSnapshot:
    version: str  # names every active release: equal tokens, equal data
    reference: ReferenceStore
    passages: dict[str, Release]
    stamp: CatalogStamp | None



def version_token(reference: dict[str, Release], passages: dict[str, Release]) -> str:
    names = [f"r:{n}@{r.version}:{r.source_sha256}:{r.loaded_at}" for n, r in sorted(reference.items())]
    names += [f"p:{n}@{r.version}:{r.loaded_at}" for n, r in sorted(passages.items())]
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


class DataSource:
    """Builds snapshots of one data directory and says when the catalog has moved on."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.catalog = Catalog(self.data_dir)
        self._lock = threading.Lock()

    def changed(self, snapshot: DataSnapshot | None) -> bool:
        return snapshot is None or CatalogStamp.of(self.catalog.path) != snapshot.stamp

    def load(self, previous: DataSnapshot | None = None) -> DataSnapshot:
        """A snapshot of the catalog as it is now (reusing the previous snapshot's unchanged connections)."""
        with self._lock:
            stamp = CatalogStamp.of(self.catalog.path)
            data = self.catalog.read()
            reference = Catalog.entries(data, "reference")
            passages = Catalog.entries(data, "passages")
            store = ReferenceStore(self.data_dir, reference, reuse=previous.reference if previous else None)
            return DataSnapshot(version_token(store.releases(), passages), store, passages, stamp)
