"""Releases kept over time: every quarter loaded stays in its own file until pruned (``casepilot-ingest prune``).

The catalog's history names them; pruning keeps the active release and the newest others up to ``keep`` per
dataset, and deletes the rest: their reference files and their cached downloads."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.stores.catalog import Catalog
from rag.stores.reference import release_path
from rag.stores.schema import Release


@dataclass(frozen=True)
class KeptRelease:
    release: Release
    active: bool
    file: Path
    bytes: int  # 0 when the file is gone


def kept_releases(data_dir: Path) -> dict[str, list[KeptRelease]]:
    """Every reference release the catalog remembers, per dataset, newest release first (by its label:
    2026Q4 > 2026Q3, 2026-10 > 2026-07; loads in the same second cannot be told apart by time)."""
    catalog = Catalog(data_dir)
    active = catalog.active("reference")
    found: dict[str, list[KeptRelease]] = {}
    for name in sorted(catalog.read().get("reference", {})):
        entries = []
        for release in sorted(catalog.history("reference", name), key=lambda r: (r.version, r.loaded_at),
                              reverse=True):
            path = release_path(Path(data_dir) / "reference", name, release.version)
            size = path.stat().st_size if path.exists() else 0
            entries.append(KeptRelease(release, name in active and active[name].version == release.version, path,
                                       size))
        found[name] = entries
    return found


def prune_plan(data_dir: Path, keep: int) -> dict[str, list[KeptRelease]]:
    """The releases ``prune`` would drop: beyond the newest ``keep`` per dataset, never the active one."""
    if keep < 1:
        raise ValueError("keep must be at least 1 (the active release always stays)")
    plan = {}
    for name, entries in kept_releases(data_dir).items():
        kept = [e for e in entries if e.active][:1]
        kept += [e for e in entries if not e.active][: max(0, keep - len(kept))]
        dropped = [e for e in entries if e not in kept]
        if dropped:
            plan[name] = dropped
    return plan


def prune(data_dir: Path, keep: int, downloads: Path | None = None) -> dict[str, list[KeptRelease]]:
    """Drop what ``prune_plan`` names: first from the catalog (so nothing points at a file being deleted), then
    the files, then cached downloads of that quarter (``downloads/<dataset>/<version>``)."""
    catalog = Catalog(data_dir)
    plan = prune_plan(data_dir, keep)
    for name, entries in plan.items():
        catalog.forget("reference", name, {e.release.version for e in entries})
        for entry in entries:
            entry.file.unlink(missing_ok=True)
            if downloads is not None:
                shutil.rmtree(downloads / name / entry.release.version, ignore_errors=True)
    return plan
