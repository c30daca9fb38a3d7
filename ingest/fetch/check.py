"""Checks a downloaded file must pass before anything in it is loaded: a sound zip, the expected members,
plausible sizes. A file that fails is removed from the cache, so the next run downloads it again."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ingest.fetch.manifest import Source


class CheckFailed(Exception):
    """The file arrived but is not what the manifest expects; nothing from it is loaded."""


@dataclass(frozen=True)
class Checked:
    path: Path
    members: tuple[str, ...]  # the members the manifest's patterns matched


def check_zip(path: Path, source: Source) -> Checked:
    size = path.stat().st_size
    if size < source.min_bytes:
        raise CheckFailed(f"{path.name}: {size:,} bytes, expected at least {source.min_bytes:,}")
    if not zipfile.is_zipfile(path):
        raise CheckFailed(f"{path.name}: not a zip archive (an error page or a truncated download?)")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()  # reads every member and checks its CRC
            infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as error:
        raise CheckFailed(f"{path.name}: damaged zip: {error}") from error
    if bad is not None:
        raise CheckFailed(f"{path.name}: member {bad} fails its CRC check (damaged download)")
    matched: list[str] = []
    for pattern in source.members:
        hits = [info for info in infos if pattern.search(info.filename)]
        if not hits:
            raise CheckFailed(f"{path.name}: no member matches {pattern.pattern}; "
                              f"members: {', '.join(sorted(i.filename for i in infos)) or 'none'}")
        empty = [info.filename for info in hits if info.file_size == 0]
        if empty:
            raise CheckFailed(f"{path.name}: empty member(s) {', '.join(empty)}")
        matched.extend(info.filename for info in hits)
    return Checked(path, tuple(dict.fromkeys(matched)))
