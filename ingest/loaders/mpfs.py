"""CMS Medicare Physician Fee Schedule relative value file (PPRRVU), as CMS publishes it in the RVUyyX zip.

The CSV (``PPRRVU26_JAN.csv``; the zip also holds TXT and XLSX copies) opens with notice lines, then a header
that CMS wraps over two rows ("GLOB" over "DAYS", "MULT" over "PROC" ...), then one row per code and modifier:
HCPCS, MOD, DESCRIPTION, STATUS CODE, NOT USED FOR MEDICARE PAYMENT, WORK RVU, NON-FAC PE RVU, NON-FAC NA
INDICATOR, FACILITY PE RVU, FACILITY NA INDICATOR, MP RVU, NON-FACILITY TOTAL, FACILITY TOTAL, PCTC IND, GLOB
DAYS, PRE OP, INTRA OP, POST OP, MULT PROC, BILAT SURG, ASST SURG, CO-SURG, TEAM SURG, ENDO BASE, CONV FACTOR,
... Columns are found by their header names, so a column CMS adds or moves does not shift the others.

The DESCRIPTION of a CPT code is AMA text: it is dropped unless ``keep_cpt_descriptions`` (a licensed CPT file
is loaded). HCPCS Level II descriptions (a letter and four digits) are CMS text and are kept.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ingest.loaders.files import sha256_of
from ingest.records import IngestError, ParsedRelease, RowError
from rag.stores.schema import MpfsIndicators

DATASET = "mpfs"
HEADER_SEARCH_ROWS = 30
CODE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")
LEVEL_II = re.compile(r"^[A-Z][0-9]{4}$")
GLOBAL_DAYS = {"000", "010", "090", "MMM", "XXX", "YYY", "ZZZ"}

# field -> the header name (normalised: upper case, words only) CMS gives its column
COLUMNS = {
    "code": "HCPCS", "modifier": "MOD", "description": "DESCRIPTION", "status": "STATUS CODE",
    "work_rvu": "WORK RVU", "nonfacility_total_rvu": "NON FACILITY TOTAL", "facility_total_rvu": "FACILITY TOTAL",
    "pctc": "PCTC IND", "global_days": "GLOB DAYS", "pre_op": "PRE OP", "intra_op": "INTRA OP",
    "post_op": "POST OP", "multiple_procedure": "MULT PROC", "bilateral": "BILAT SURG", "assistant": "ASST SURG",
    "co_surgeon": "CO SURG", "team": "TEAM SURG", "endoscopic_base": "ENDO BASE", "conversion_factor": "CONV FACTOR",
}
REQUIRED = ("code", "status", "global_days", "pctc", "multiple_procedure", "bilateral", "assistant", "co_surgeon",
            "team")
NOT_PPRRVU = ("no PPRRVU header (HCPCS, MOD, ... GLOB DAYS, MULT PROC ...) in the first "
              f"{HEADER_SEARCH_ROWS} rows: not a CMS PPRRVU relative value file")


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", text.upper()).split())


def _header_map(upper: list[str] | None, lower: list[str]) -> dict[str, int] | None:
    """Column positions from a one-row header, or from a two-row one (upper cell + lower cell)."""
    for cells in ([_norm(c) for c in lower],
                  [_norm(f"{a} {b}") for a, b in zip((upper or []) + [""] * len(lower), lower)]):
        positions = {}
        for name, wanted in COLUMNS.items():
            if wanted in cells:
                positions[name] = cells.index(wanted)
        if all(name in positions for name in REQUIRED):
            return positions
    return None


def _float(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _rows(path: Path) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    if not path.exists():
        raise IngestError(path, "file not found")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = sorted(n for n in archive.namelist()
                             if Path(n).name.upper().startswith("PPRRVU") and n.lower().endswith(".csv"))
            if not members:
                raise IngestError(path, f"zip holds no PPRRVU*.csv; members: {sorted(archive.namelist())}")
            # The QPP and non-QPP copies carry the same indicators; the first sorted name is used.
            raw = archive.read(members[0])
        name = f"{path}!{members[0]}"
    else:
        raw, name = path.read_bytes(), str(path)
    text = raw.decode("cp1252", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))

    def numbered() -> Iterator[tuple[int, list[str]]]:
        for cells in reader:
            yield reader.line_num, cells

    return name, numbered()


def _indicator(cells: list[str], positions: dict[str, int], name: str) -> str:
    index = positions.get(name)
    return cells[index].strip().upper() if index is not None and index < len(cells) else ""


def iter_pprrvu(path: Path, keep_cpt_descriptions: bool = False) -> Iterator[MpfsIndicators | RowError]:
    file, rows = _rows(Path(path))
    positions, previous = None, None
    for line, cells in rows:
        if positions is None:
            if line > HEADER_SEARCH_ROWS:
                raise IngestError(file, NOT_PPRRVU, line)
            if cells and _norm(cells[0]) == "HCPCS":
                positions = _header_map(previous, cells)
                if positions is None:
                    raise IngestError(file, "PPRRVU header lacks one of " + ", ".join(COLUMNS[n] for n in REQUIRED),
                                      line)
            previous = cells
            continue
        if not any(c.strip() for c in cells):
            continue
        code = _indicator(cells, positions, "code")
        if not CODE.match(code):
            yield RowError(file, line, f"not a HCPCS/CPT code: {code!r}")
            continue
        glob = _indicator(cells, positions, "global_days")
        if glob not in GLOBAL_DAYS:
            yield RowError(file, line, f"global days {glob!r} is not one of {', '.join(sorted(GLOBAL_DAYS))}")
            continue
        value = {name: _indicator(cells, positions, name) for name in
                 ("modifier", "status", "pctc", "multiple_procedure", "bilateral", "assistant", "co_surgeon", "team",
                  "endoscopic_base")}
        number = {name: _float(_indicator(cells, positions, name)) for name in
                  ("work_rvu", "facility_total_rvu", "nonfacility_total_rvu", "pre_op", "intra_op", "post_op",
                   "conversion_factor")}
        description = ""
        if "description" in positions and (keep_cpt_descriptions or LEVEL_II.match(code)):
            index = positions["description"]
            description = cells[index].strip() if index < len(cells) else ""
        yield MpfsIndicators(code=code, modifier=value["modifier"], status=value["status"], global_days=glob,
                             pctc=value["pctc"], multiple_procedure=value["multiple_procedure"],
                             bilateral=value["bilateral"], assistant=value["assistant"],
                             co_surgeon=value["co_surgeon"], team=value["team"], work_rvu=number["work_rvu"],
                             facility_total_rvu=number["facility_total_rvu"],
                             nonfacility_total_rvu=number["nonfacility_total_rvu"], pre_op=number["pre_op"],
                             intra_op=number["intra_op"], post_op=number["post_op"],
                             endoscopic_base=value["endoscopic_base"], conversion_factor=number["conversion_factor"],
                             description=description, row=line)
    if positions is None:
        raise IngestError(file, NOT_PPRRVU)


_QUARTER_OF_MONTH = {"jan": 1, "apr": 2, "jul": 3, "oct": 4}


def infer_version(name: str) -> str | None:
    """'RVU26C' / 'rvu26c-updated-...zip' -> '2026Q3' (CMS's A, B, C, D releases: January, April, July, October);
    'PPRRVU26_JUL.csv' -> '2026Q3'."""
    lowered = Path(name).name.lower()
    match = re.search(r"(?<!pp)rvu(\d{2})([a-d])", lowered)
    if match:
        return f"20{match.group(1)}Q{'abcd'.index(match.group(2)) + 1}"
    match = re.search(r"pprrvu(\d{2})[_-]?(jan|apr|jul|oct)", lowered)
    return f"20{match.group(1)}Q{_QUARTER_OF_MONTH[match.group(2)]}" if match else None


def load_pprrvu(path: Path, version: str | None = None, keep_cpt_descriptions: bool = False) -> ParsedRelease:
    path = Path(path)
    version = version or infer_version(path.name)
    if not version:
        raise IngestError(path, "cannot infer the release from the file name; pass --version (e.g. 2026Q3)")
    items = iter_pprrvu(path, keep_cpt_descriptions)
    first = next(items, None)  # a file that is not PPRRVU at all fails here, before the writer starts

    def chained() -> Iterator[MpfsIndicators | RowError]:
        if first is not None:
            yield first
            yield from items

    notes = [] if keep_cpt_descriptions else ["CPT descriptors dropped (AMA text; load a licensed CPT file first)"]
    return ParsedRelease(DATASET, version, str(path), chained(), sha256_of(path), notes=notes)
