"""Loader plumbing, one place for every loader: opening files (plain, or inside a zip of several parts),
decoding text, reading CSV and XLSX rows with one row-numbering rule, YYYYMMDD dates, and the project's lay-term
tables (corpora/<dataset>/lay_terms.csv) that add everyday words to a code set's codes.

Row numbers: a row is cited by the line (CSV, TXT) or sheet row (XLSX) it starts on, counting from 1; a quoted
CSV cell that spans lines keeps the number of the line where its record starts.
"""

from __future__ import annotations

import codecs
import csv
import functools
import gc
import hashlib
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO, TypeVar

from ingest.records import IngestError, RowError
from ingest.workers import worker_pool

YYYYMMDD = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")


def is_yyyymmdd(value: str) -> bool:
    return bool(YYYYMMDD.match(value))


# ------------------------------------------------------------------ text


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):  # registered for decoding only
        raise error
    return error.object[error.start:error.end].decode("latin-1"), error.end


codecs.register_error("casepilot-latin1", _latin1_fallback)


def decode_text(raw: bytes) -> str:
    """UTF-8 (a BOM is fine: the CSVs people re-save), else Windows-1252 (CMS's TXT: 0x92 quotes), with latin-1
    for the bytes Windows-1252 leaves undefined."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="casepilot-latin1")


def split_lines(text: str) -> list[str]:
    """Lines split on LF (CRLF in CMS files) only: str.splitlines would also split on form feeds and other
    control characters, and the line numbers cited would drift."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def csv_rows(source: str | Iterable[str], delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(the line a record starts on, its cells), for CSV text or an open text stream."""
    reader = csv.reader(io.StringIO(source, newline="") if isinstance(source, str) else source, delimiter=delimiter)
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def table_rows(reader: csv.DictReader, file: str, required: Sequence[str], expected: Sequence[str]
               ) -> Iterator[tuple[int, dict]]:
    """The data rows of a table the project writes (a CSV with a header), each with the line it starts on; blank
    rows skipped. A header without the ``required`` columns is an IngestError naming the ``expected`` ones."""
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise IngestError(file, f"header lacks {', '.join(missing)} (expected {','.join(expected)})", 1)
    for row in reader:
        if any((value or "").strip() for value in row.values() if isinstance(value, str)):
            yield reader.line_num, row


class FirstLines:
    """The line each code of such a table was first given on: a second row for the same code is malformed."""

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[str, int] = {}

    def repeated(self, code: str, line: int) -> RowError | None:
        if code in self.lines:
            return RowError(self.file, line, f"{code} is listed twice (first on line {self.lines[code]})")
        self.lines[code] = line
        return None


# ------------------------------------------------------------------ lay-term tables

LAY_TERMS_FILE = "lay_terms.csv"
LAY_TERM_COLUMNS = ("code", "lay_terms", "note")


@dataclass
class LayTerms:
    """A lay-term table as read: terms, notes and the line of each code, and the rows that could not be used."""

    path: str = ""
    sha256: str = ""
    terms: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # the line each code's (accepted) row is on
    errors: list[RowError] = field(default_factory=list)


def unique_terms(terms: Iterable[str]) -> list[str]:
    """The terms in order, blanks and repeats (ignoring case and spacing) dropped: the first spelling stays."""
    seen: set[str] = set()
    kept = []
    for term in terms:
        term = " ".join(term.split())
        key = term.casefold()
        if term and key not in seen:
            seen.add(key)
            kept.append(term)
    return kept


def read_lay_terms(path: Path, problem: Callable[[str], str | None]) -> LayTerms:
    """The lay-term table at ``path`` (columns ``code,lay_terms,note``, terms separated by ``|``).

    ``problem(code)`` says why the code set does not take a row's code (None when it does): that row, a row with
    too many fields, no code or no terms, and a second row for a code become RowErrors naming the file and line
    (the load goes on without them, or fails in strict mode). A missing file or header is an IngestError."""
    path = Path(path)
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise IngestError(file, f"cannot read the lay-term table ({error.strerror or error})") from None
    table = LayTerms(file, hashlib.sha256(data).hexdigest())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(file, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    first = FirstLines(file)
    for line, row in table_rows(csv.DictReader(io.StringIO(text, newline="")), file, LAY_TERM_COLUMNS[:2],
                                LAY_TERM_COLUMNS):
        values = [v for v in row.values() if isinstance(v, str)]
        if None in row:  # more fields than the header names: an unquoted comma
            table.errors.append(RowError(file, line, f"{len(values) + len(row[None])} fields, expected "
                                                     f"{len(LAY_TERM_COLUMNS)} (quote a value that has a comma)"))
            continue
        code = (row.get("code") or "").strip()
        if not code:
            table.errors.append(RowError(file, line, "no code"))
            continue
        message = problem(code)
        if message:
            table.errors.append(RowError(file, line, message))
            continue
        terms = unique_terms((row.get("lay_terms") or "").split("|"))
        if not terms:
            table.errors.append(RowError(file, line, f"{code} has no lay terms"))
            continue
        repeated = first.repeated(code, line)
        if repeated:
            table.errors.append(repeated)
            continue
        table.terms[code] = terms
        table.lines[code] = line
        note = " ".join((row.get("note") or "").split())
        if note:
            table.notes[code] = note
    return table


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 8 as 8.0
    return str(value)


def xlsx_rows(source: Path | IO[bytes], file: str) -> Iterator[tuple[int, list[str]]]:
    """(sheet row, its cells as text) of the first worksheet; an IngestError naming ``file`` if unreadable."""
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CMS workbooks carry page headers that openpyxl cannot parse
        try:
            book = load_workbook(source, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises several unrelated types for a bad file
            raise IngestError(file, f"not a readable XLSX workbook: {error}") from error
        try:  # read the sheet inside the warnings context
            rows = [[_cell(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    yield from enumerate(rows, start=1)


# ------------------------------------------------------------------ files and zips


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
    with worker_pool(1) as pool:
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
        members: list[str | None] = [n for n in sorted(archive.namelist()) if n.lower().endswith(suffixes)]
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
    members = text_members(path, suffixes)
    if members == [None]:
        with open(path, encoding=encoding, newline="") as handle:
            yield str(path), handle
        return
    with zipfile.ZipFile(path) as archive:
        for name in (m for m in members if m is not None):
            with archive.open(name) as raw:
                yield f"{path}!{name}", io.TextIOWrapper(raw, encoding=encoding, newline="")
