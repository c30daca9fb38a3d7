"""CMS Medicare NCCI add-on code (AOC) edit file, as CMS publishes it (``AOC_V2026Q3-MCR.xlsx`` in a zip).

One row per add-on code and primary code: Add-on Code, AOC Del Dt, Primary Code, Primary Code Del Dt, AOC Edit
Type, AOC Edit Eff Dt, AOC Edit Del Dt, Special Instruction Notes. Edit type 1: the add-on is paid only with a
listed primary; type 2: no primary is listed (primary "CCCCC"), the contractor decides; type 3: the listed
primaries and others the contractor accepts. Dates are YYYYMMDD ("*" or empty: none; a 7-digit YYYYDDD
ordinal date is read too). Columns are found by header name; XLSX, CSV and tab-delimited TXT are read.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from ingest.loaders.files import sha256_of
from ingest.records import IngestError, ParsedRelease, RowError
from rag.stores.schema import NO_DATE, AddonEdit

DATASET = "addon"
HEADER_SEARCH_ROWS = 30
CODE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")
NO_PRIMARY = "CCCCC"
COLUMNS = {
    "addon": ("ADD ON CODE", "ADDON CODE", "AOC"),
    "addon_deletion": ("AOC DEL DT", "ADD ON CODE DELETION DATE", "AOC DELETION DATE"),
    "primary": ("PRIMARY CODE",),
    "primary_deletion": ("PRIMARY CODE DEL DT", "PRIMARY CODE DELETION DATE"),
    "edit_type": ("AOC EDIT TYPE", "EDIT TYPE"),
    "effective": ("AOC EDIT EFF DT", "AOC EDIT EFFECTIVE DATE", "EDIT EFFECTIVE DATE"),
    "deletion": ("AOC EDIT DEL DT", "AOC EDIT DELETION DATE", "EDIT DELETION DATE"),
    "notes": ("SPECIAL INSTRUCTION NOTES", "NOTES"),
}
REQUIRED = ("addon", "primary", "edit_type", "effective")
NOT_AOC = ("no add-on code header (Add-on Code, Primary Code, AOC Edit Type, AOC Edit Eff Dt ...) in the first "
           f"{HEADER_SEARCH_ROWS} rows: not a CMS NCCI add-on code edit file")
_SUFFIXES = (".xlsx", ".csv", ".txt")


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", str(text).upper()).split())


def _header(cells: list[str]) -> dict[str, int] | None:
    names = [_norm(c) for c in cells]
    positions = {}
    for field, candidates in COLUMNS.items():
        for candidate in candidates:
            if candidate in names:
                positions[field] = names.index(candidate)
                break
    return positions if all(f in positions for f in REQUIRED) else None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):  # a date cell in the workbook
        return value.strftime("%Y%m%d")
    return str(value)


def _xlsx_rows(source, file: str) -> Iterator[tuple[int, list[str]]]:
    import warnings

    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            book = load_workbook(source, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises several unrelated types for a bad file
            raise IngestError(file, f"not a readable XLSX workbook: {error}") from error
        try:
            rows = [[_cell(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    yield from enumerate(rows, start=1)


def _text_rows(raw: bytes, file: str) -> Iterator[tuple[int, list[str]]]:
    text = raw.decode("cp1252", errors="replace")
    first = next((line for line in text.splitlines() if line.strip()), "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if "\t" in first else ",")
    for cells in reader:
        yield reader.line_num, cells


def _source(path: Path) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    if not path.exists():
        raise IngestError(path, "file not found")
    if path.suffix.lower() == ".xlsx":
        return str(path), _xlsx_rows(path, str(path))
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [n for n in archive.namelist() if n.lower().endswith(_SUFFIXES)
                       and "aoc" in Path(n).name.lower()]
            if not members:
                raise IngestError(path, f"zip holds no AOC*.xlsx/.csv/.txt file; members: {sorted(archive.namelist())}")
            # The workbook is CMS's primary form; the Medicare (MCR) file before any other.
            member = min(members, key=lambda n: ("mcr" not in n.lower(), _SUFFIXES.index(Path(n).suffix.lower()), n))
            raw = archive.read(member)
        file = f"{path}!{member}"
        if member.lower().endswith(".xlsx"):
            return file, _xlsx_rows(io.BytesIO(raw), file)
        return file, _text_rows(raw, file)
    return str(path), _text_rows(path.read_bytes(), str(path))


def _date(value: str) -> int | None:
    """YYYYMMDD, YYYYDDD or none ('*', '', 0) -> NO_DATE; None if it is not a date."""
    value = value.strip()
    if value in ("", "*", "0"):
        return NO_DATE
    if re.fullmatch(r"(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])", value):
        return int(value)
    if re.fullmatch(r"(19|20)\d{2}\d{3}", value) and 1 <= int(value[4:]) <= 366:
        day = date(int(value[:4]), 1, 1) + timedelta(days=int(value[4:]) - 1)
        return int(day.strftime("%Y%m%d"))
    return None


def iter_addon(path: Path) -> Iterator[AddonEdit | RowError]:
    file, rows = _source(Path(path))
    positions: dict[str, int] | None = None
    for line, cells in rows:
        if positions is None:
            positions = _header(cells)
            if positions is None and line >= HEADER_SEARCH_ROWS:
                raise IngestError(file, NOT_AOC, line)
            continue
        if not any(c.strip() for c in cells):
            continue

        def get(field: str, cells: list[str] = cells, positions: dict[str, int] = positions) -> str:
            index = positions.get(field)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        addon, primary = get("addon").upper(), get("primary").upper()
        if not CODE.match(addon):
            yield RowError(file, line, f"add-on code {addon!r} is not a HCPCS/CPT code")
            continue
        edit_type = get("edit_type")
        if edit_type not in ("1", "2", "3"):
            yield RowError(file, line, f"AOC edit type {edit_type!r} is not 1, 2 or 3")
            continue
        if primary == NO_PRIMARY or (edit_type == "2" and not primary):
            primary = ""
        elif not CODE.match(primary):
            yield RowError(file, line, f"primary code {primary!r} is not a HCPCS/CPT code")
            continue
        dates = {}
        for field in ("effective", "deletion", "addon_deletion", "primary_deletion"):
            dates[field] = _date(get(field))
            if dates[field] is None:
                yield RowError(file, line, f"{field.replace('_', ' ')} date {get(field)!r} is not YYYYMMDD or '*'")
                break
        else:
            if dates["effective"] == NO_DATE:
                yield RowError(file, line, "the AOC edit effective date is empty")
                continue
            yield AddonEdit(addon, primary, int(edit_type), dates["effective"], dates["deletion"],
                            dates["addon_deletion"], dates["primary_deletion"], get("notes"), line)
    if positions is None:
        raise IngestError(file, NOT_AOC)


def infer_version(name: str) -> str | None:
    """'AOC_V2026Q3-MCR' -> '2026Q3'."""
    match = re.search(r"(20\d{2})[-_ ]?q([1-4])", name.lower())
    return f"{match.group(1)}Q{match.group(2)}" if match else None


def load_addon(path: Path, version: str | None = None) -> ParsedRelease:
    path = Path(path)
    items = iter_addon(path)
    first = next(items, None)  # fail on a file that is not an AOC file here, before the writer starts
    version = version or infer_version(path.name)
    if version is None and zipfile.is_zipfile(path) and path.suffix.lower() != ".xlsx":
        with zipfile.ZipFile(path) as archive:
            version = next((v for v in map(infer_version, archive.namelist()) if v), None)
    if not version:
        raise IngestError(path, "cannot infer the release from the file name; pass --version (e.g. 2026Q3)")

    def chained() -> Iterator[AddonEdit | RowError]:
        if first is not None:
            yield first
            yield from items

    return ParsedRelease(DATASET, version, str(path), chained(), sha256_of(path))
