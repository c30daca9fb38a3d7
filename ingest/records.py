"""What a loader hands to the writers: a release of records, with the rows it could not read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Union

from rag.stores.schema import CodeRecord, MueLimit, PtpEdit

Record = Union[CodeRecord, PtpEdit, MueLimit]


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


@dataclass
class ParsedRelease:
    """One dataset release as a loader reads it. ``items`` is consumed once, by the writer."""

    dataset: str
    version: str
    source_file: str
    items: Iterable[Record | RowError]
    source_sha256: str = ""
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Record | RowError]:
        return iter(self.items)
