"""Opening source files the way CMS publishes them: plain, or inside a zip of several parts."""

from __future__ import annotations

import functools
import gc
import hashlib
import io
import zipfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterator, Sequence, TextIO, TypeVar

from ingest.records import IngestError


def sha256_of(path: Path) -> str:
    if not Path(path).is_file():
        raise IngestError(path, "file not found")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


Job = TypeVar("Job")


def parsed_in_worker(parse: Callable[[Job], list], jobs: Sequence[Job]) -> Iterator:
    """Parse the parts of a source in a worker process while the caller writes the parts already parsed.

    On two cores this overlaps parsing with the SQLite insert; ``parse`` must be a module-level function.
    """
    if len(jobs) <= 1:
        for job in jobs:
            yield from parse(job)
        return
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        for part in pool.map(parse, jobs):
            yield from part


def without_gc(parse: Callable[[Job], list]) -> Callable[[Job], list]:
    """Millions of small tuples would set the cyclic collector off over and over; none of them form cycles.

    A decorator for module-level parse functions (``wraps`` keeps them picklable for the worker)."""

    @functools.wraps(parse)
    def run(job: Job) -> list:
        gc.disable()
        try:
            return parse(job)
        finally:
            gc.enable()

    return run


def text_members(path: Path, suffixes: tuple[str, ...]) -> list[str | None]:
    """The matching members of a zip (sorted), or [None] for a plain file."""
    path = Path(path)
    if not path.exists():
        raise IngestError(path, "file not found")
    if not zipfile.is_zipfile(path):
        return [None]
    with zipfile.ZipFile(path) as archive:
        members = sorted(n for n in archive.namelist() if n.lower().endswith(suffixes))
    if not members:
        raise IngestError(path, f"zip holds no {'/'.join(suffixes)} file")
    return members


def read_member_lines(path: Path, member: str | None, encoding: str) -> tuple[str, list[str]]:
    if member is None:
        with open(path, encoding=encoding, newline="") as handle:
            return str(path), handle.readlines()
    with zipfile.ZipFile(path) as archive, archive.open(member) as raw:
        return f"{path}!{member}", io.TextIOWrapper(raw, encoding=encoding, newline="").readlines()


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
