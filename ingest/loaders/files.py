"""Opening source files the way CMS publishes them: plain, or inside a zip of several parts."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Iterator, TextIO

from ingest.records import IngestError


def sha256_of(path: Path) -> str:
    if not Path(path).is_file():
        raise IngestError(path, "file not found")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_text_members(path: Path, suffixes: tuple[str, ...], encoding: str) -> Iterator[tuple[str, TextIO]]:
    """Yield (name, text stream) for the file itself, or for each matching member of a zip."""
    path = Path(path)
    if not path.exists():
        raise IngestError(path, "file not found")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist() if n.lower().endswith(suffixes))
            if not members:
                raise IngestError(path, f"zip holds no {'/'.join(suffixes)} file")
            for name in members:
                with archive.open(name) as raw:
                    yield f"{path}!{name}", io.TextIOWrapper(raw, encoding=encoding, newline="")
        return
    with open(path, encoding=encoding, newline="") as handle:
        yield str(path), handle
