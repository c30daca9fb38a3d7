"""What a loader hands to the writers: a release of records, with the rows it could not read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.stores.schema import AddonEdit, CodeRecord, MpfsIndicators, MueLimit, PtpEdit

Record = CodeRecord | PtpEdit | MueLimit | MpfsIndicators | AddonEdit


class IngestError(Exception):
    """A file that cannot be loaded at all; the message names the file and, where known, the line."""

    def __init__(self, file: str | Path, message: str, line: int | None = None):
        self.file, self.message, self.line = str(file), message, line
        where = f"{file}:{line}" if line else str(file)
        super().__init__(f"{where}: {message}")

    def __reduce__(self):  # raised in parser worker processes, so it must survive pickling
        return type(self), (self.file, self.message, self.line)


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class SourceParts:
    """A source CMS splits into parts that can be parsed independently: ``parse(job)`` returns one part's
    records and row errors. ``parse`` is a module-level function, so worker processes can run it."""

    parse: Callable[[Any], list]
    jobs: list


@dataclass
class ParsedRelease:
    """One dataset release as a loader reads it. ``items`` is consumed once, by the writer.

    ``parts``, when set, describes the same rows as independent parts: the writer may then parse and stage them
    in parallel worker processes instead of iterating ``items``."""

    dataset: str
    version: str
    source_file: str
    items: Iterable[Record | RowError]
    source_sha256: str = ""
    notes: list[str] = field(default_factory=list)
    parts: SourceParts | None = None

    def __iter__(self) -> Iterator[Record | RowError]:
        return iter(self.items)
