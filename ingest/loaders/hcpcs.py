"""CMS HCPCS Level II alpha-numeric file ("ANWEB"), as CMS publishes it.

Accepted inputs: the annual or quarterly zip (the fixed-width TXT inside it is preferred over the CSV/XLSX
copies), a bare ANWEB TXT, a CSV in the ANWEB column layout, or an XLSX with the same header row.

The TXT holds 320-column fixed-width records after a few disclaimer lines. Field positions (1-based,
inclusive) are those of the CMS record layout (``HCPCS2019_recordlayout.txt`` in 2019-HCPCS-Record-Layout.zip,
"HCPCS Contractor Record"); they were checked field by field against HCPC2020_ANWEB_w_disclaimer.txt and the
CMS spreadsheet of the same release. RECID 3 starts a procedure code, 4 continues its long description,
7 starts a modifier (code in columns 4-5), 8 continues a modifier's long description.

One CodeRecord per code: code_set "HCPCS" for procedure codes, "MODIFIER" for the two-character modifiers.

Code search reads ``lay_terms``: the project's table of the everyday names coders use for Level II codes
(corpora/hcpcs/lay_terms.csv: "welcome to medicare visit" at G0402, "rolling walker" at E0143), which CMS's
descriptors lack. A table row that is malformed, repeats a code, or names a code the file does not hold (or holds
with a termination date) is a malformed row of the release (file:line). The table's sha256 is part of the release
checksum, so editing it reloads HCPCS on the next ingest.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders.files import (
    LAY_TERMS_FILE,
    LayTerms,
    csv_rows,
    decode_text,
    is_yyyymmdd,
    sha256_of,
    split_lines,
    unique_terms,
    xlsx_rows,
)
from ingest.loaders.files import read_lay_terms as read_lay_term_table
from ingest.records import IngestError, ParsedRelease, RowError
from rag.stores.schema import CodeRecord

DATASET = "hcpcs"
ORIGIN = "CMS HCPCS Level II"
HEADER_SEARCH_LINES = 50  # disclaimers come first; data must start within this many lines
RECIPE = "lay-terms-1"  # with a lay-term table, the recipe and the table's digest join the file's in the checksum
DEFAULT_LAY_TERMS = Path(__file__).resolve().parents[2] / "corpora" / DATASET / LAY_TERMS_FILE

# (column name as in the CMS spreadsheet/CSV header, first column, last column), 1-based inclusive.
# Repeated fields (OCCURS in the layout) are numbered as the spreadsheet numbers them.
FIXED_WIDTH: list[tuple[str, int, int]] = [
    ("HCPC", 1, 5),  # procedure code; modifiers sit in columns 4-5
    ("SEQNUM", 6, 10),
    ("RECID", 11, 11),
    ("LONG DESCRIPTION", 12, 91),
    ("SHORT DESCRIPTION", 92, 119),
    *[(f"PRICE{i + 1}", 120 + 2 * i, 121 + 2 * i) for i in range(4)],  # pricing indicator x4
    ("MULT_PI", 128, 128),
    *[(f"CIM{i + 1}", 129 + 6 * i, 134 + 6 * i) for i in range(3)],  # coverage issues manual x3
    *[(f"MCM{i + 1}", 147 + 8 * i, 154 + 8 * i) for i in range(3)],  # Medicare carriers manual x3
    ("STATUTE", 171, 180),
    *[(f"LABCERT{i + 1}", 181 + 3 * i, 183 + 3 * i) for i in range(8)],
    *[(f"XREF{i + 1}", 205 + 5 * i, 209 + 5 * i) for i in range(5)],
    ("COV", 230, 230),
    ("ASC_GRP", 231, 232),
    ("ASC_DT", 233, 240),
    ("OPPS", 241, 243),  # MOG payment group
    ("OPPS_PI", 244, 244),
    ("OPPS_DT", 245, 252),
    ("PROCNOTE", 253, 256),
    ("BETOS", 257, 259),
    *[(f"TOS{i + 1}", 261 + i, 261 + i) for i in range(5)],  # column 260 is filler
    ("ANEST_BU", 266, 268),
    ("ADD DT", 269, 276),
    ("ACT EFF DT", 277, 284),
    ("TERM DT", 285, 292),
    ("ACTION CD", 293, 293),
    # 294-320 filler
]
_SLICES = [(name, start - 1, end) for name, start, end in FIXED_WIDTH]

COVERAGE = {
    "C": "carrier judgment",
    "D": "special coverage instructions apply",
    "I": "not payable by Medicare",
    "M": "non-covered by Medicare",
    "S": "non-covered by Medicare statute",
}
ACTIONS = {
    "A": "add procedure or modifier code",
    "B": "change in both administrative data field and long description",
    "C": "change in long description",
    "D": "discontinue procedure or modifier code",
    "F": "change in administrative data field",
    "N": "no maintenance for this code",
    "P": "payment change",
    "R": "re-activate discontinued/deleted procedure or modifier code",
    "S": "change in short description",
    "T": "miscellaneous change (BETOS, type of service)",
}

PROCEDURE = re.compile(r"^[A-Z][0-9]{4}$")
MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
FIRST_LINE = {"3": "HCPCS", "7": "MODIFIER"}
CONTINUES = {"4": "3", "8": "7"}

_MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december"]
_MONTHS = {**{m: f"{i:02d}" for i, m in enumerate(_MONTH_NAMES, start=1)},
           **{m[:3]: f"{i:02d}" for i, m in enumerate(_MONTH_NAMES, start=1)}, "sept": "09"}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + ")"


# ------------------------------------------------------------------ version

def infer_version(name: str) -> str | None:
    """'HCPC2026_OCT_ANWEB' -> '2026-10'; 'january-2026-...' or '2026-JAN' -> '2026-01';
    'HCPC2020_ANWEB' or '2020-Alpha-Numeric-HCPCS-File' -> '2020'."""
    lowered = Path(name).name.lower()
    match = re.search(rf"((?:19|20)\d\d)[_\- ]?{_MONTH}(?![a-z])", lowered)
    if match:
        return f"{match.group(1)}-{_MONTHS[match.group(2)]}"
    match = re.search(rf"(?<![a-z]){_MONTH}[_\- ]?((?:19|20)\d\d)(?!\d)", lowered)
    if match:
        return f"{match.group(2)}-{_MONTHS[match.group(1)]}"
    match = re.search(r"(?:hcpc|hcpcs)[_\-]?((?:19|20)\d\d)", lowered) or re.search(r"(?<!\d)((?:19|20)\d\d)(?!\d)",
                                                                                    lowered)
    return match.group(1) if match else None


# ------------------------------------------------------------------ raw records from each format

@dataclass
class _Raw:
    fields: dict[str, str]
    file: str
    line: int


def _looks_fixed_width(line: str) -> bool:
    return (len(line) >= 12 and line[10] in "3478" and line[5:10].isdigit()
            and bool(line[:5].strip()) and " " not in line[:5].strip())


def _fixed_width_records(text: str, file: str) -> Iterator[_Raw | RowError]:
    in_data = False
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        if not in_data:
            if not _looks_fixed_width(line):
                if number >= HEADER_SEARCH_LINES:
                    raise IngestError(file, "no HCPCS fixed-width record (code, sequence number, RECID 3/4/7/8) "
                                            f"in the first {HEADER_SEARCH_LINES} lines: not a CMS HCPCS ANWEB file",
                                      number)
                continue
            in_data = True
        if len(line) < 12:
            yield RowError(file, number, f"record is {len(line)} characters long; expected a 320-column "
                                         "fixed-width HCPCS record")
            continue
        yield _Raw({name: line[start:end].strip() for name, start, end in _SLICES}, file, number)
    if not in_data:
        raise IngestError(file, "no HCPCS fixed-width record (code, sequence number, RECID 3/4/7/8) found: "
                                "not a CMS HCPCS ANWEB file")


def _header_index(cells: list[str]) -> dict[str, int] | None:
    names = [c.strip().upper() for c in cells]
    if not names or names[0] != "HCPC" or "RECID" not in names or "LONG DESCRIPTION" not in names:
        return None
    return {name: i for i, name in enumerate(names) if name}


def _table_records(rows: Iterable[tuple[int, list[str]]], file: str) -> Iterator[_Raw | RowError]:
    header: dict[str, int] | None = None
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = _header_index(cells)
            if header is None and number >= HEADER_SEARCH_LINES:
                raise IngestError(file, "no ANWEB header row (HCPC, SEQNUM, RECID, LONG DESCRIPTION, ...) in the "
                                        f"first {HEADER_SEARCH_LINES} rows: not a CMS HCPCS ANWEB file", number)
            continue
        yield _Raw({name: cells[i].strip() if i < len(cells) else "" for name, i in header.items()}, file, number)
    if header is None:
        raise IngestError(file, "no ANWEB header row (HCPC, SEQNUM, RECID, LONG DESCRIPTION, ...): "
                                "not a CMS HCPCS ANWEB file")


def _text_records(text: str, file: str) -> Iterator[_Raw | RowError]:
    """A TXT or CSV: delimited if an ANWEB header row comes first (always, for a .csv), else fixed-width."""
    if file.lower().endswith(".csv"):
        return _table_records(csv_rows(text, ","), file)
    for line in split_lines(text)[:HEADER_SEARCH_LINES]:
        head = line.lstrip().upper()
        if head.startswith(("HCPC,", '"HCPC",')):
            return _table_records(csv_rows(text, ","), file)
        if head.startswith("HCPC\t"):
            return _table_records(csv_rows(text, "\t"), file)
        if _looks_fixed_width(line):
            break
    return _fixed_width_records(text, file)


_PREFERENCE = (".txt", ".csv", ".xlsx")


def _zip_member(archive: zipfile.ZipFile, path: Path) -> str:
    names = [n for n in archive.namelist() if not n.endswith("/")]
    candidates = [n for n in names if "anweb" in Path(n).name.lower() and Path(n).suffix.lower() in _PREFERENCE]
    if not candidates:
        raise IngestError(path, f"zip holds no HCPCS ANWEB file (.txt, .csv or .xlsx); members: {sorted(names)}")
    return min(candidates, key=lambda n: (_PREFERENCE.index(Path(n).suffix.lower()), n))


def _records(path: Path) -> tuple[str, Iterator[_Raw | RowError]]:
    """(the file the records come from, the raw records)."""
    if not path.exists():
        raise IngestError(path, "file not found")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):  # a workbook is itself a zip: test for it first
        return str(path), _table_records(xlsx_rows(path, str(path)), str(path))
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            member = _zip_member(archive, path)
            raw = archive.read(member)
        file = f"{path}!{member}"
        if member.lower().endswith(".xlsx"):
            return file, _table_records(xlsx_rows(io.BytesIO(raw), file), file)
        return file, _text_records(decode_text(raw), file)
    if suffix == ".xls":
        raise IngestError(path, "legacy .xls workbooks are not read; load the ANWEB TXT from the same CMS zip "
                                "(or the zip itself), or save the sheet as XLSX/CSV")
    return str(path), _text_records(decode_text(path.read_bytes()), str(path))


# ------------------------------------------------------------------ assembling codes

@dataclass
class _Pending:
    raw: _Raw
    code: str
    code_set: str
    recid: str
    extra: list[str] = field(default_factory=list)


def _date(value: str, name: str, raw: _Raw) -> int | None | RowError:
    if not value or value.strip("0") == "":
        return None
    if not is_yyyymmdd(value):
        return RowError(raw.file, raw.line, f"{name} {value!r} is not a YYYYMMDD date")
    return int(value)


def _listed(fields: dict[str, str], prefix: str, count: int) -> list[str]:
    return [v for v in (fields.get(f"{prefix}{i}", "") for i in range(1, count + 1)) if v]


def _record(pending: _Pending) -> CodeRecord | RowError:
    raw, f = pending.raw, pending.raw.fields
    dates = {}
    for key, column in (("effective", "ACT EFF DT"), ("termination", "TERM DT"), ("add_date", "ADD DT"),
                        ("asc_date", "ASC_DT"), ("opps_date", "OPPS_DT")):
        value = _date(f.get(column, ""), column, raw)
        if isinstance(value, RowError):
            return value
        dates[key] = value
    long_description = " ".join(part for part in [f.get("LONG DESCRIPTION", ""), *pending.extra] if part)
    coverage = f.get("COV", "")
    action = f.get("ACTION CD", "")
    attributes = {
        "coverage_code": coverage,
        "coverage": COVERAGE.get(coverage, ""),
        "betos": f.get("BETOS", ""),
        "tos": _listed(f, "TOS", 5),
        "pricing_indicators": _listed(f, "PRICE", 4),
        "multiple_pricing": f.get("MULT_PI", ""),
        "cim": _listed(f, "CIM", 3),
        "mcm": _listed(f, "MCM", 3),
        "statute": f.get("STATUTE", ""),
        "lab_certification": _listed(f, "LABCERT", 8),
        "cross_reference": _listed(f, "XREF", 5),
        "asc_group": f.get("ASC_GRP", ""),
        "asc_date": dates["asc_date"],
        "opps": f.get("OPPS", ""),
        "opps_indicator": f.get("OPPS_PI", ""),
        "opps_date": dates["opps_date"],
        "processing_note": f.get("PROCNOTE", ""),
        "anesthesia_base_units": f.get("ANEST_BU", "").lstrip("0") if f.get("ANEST_BU", "").strip("0") else "",
        "add_date": dates["add_date"],
        "action_code": action,
        "action": ACTIONS.get(action, ""),
    }
    attributes = {k: v for k, v in attributes.items() if v not in ("", None, [])}
    attributes["origin"] = ORIGIN
    return CodeRecord(code=pending.code, code_set=pending.code_set, short_description=f.get("SHORT DESCRIPTION", ""),
                      long_description=long_description, effective_date=dates["effective"],
                      termination_date=dates["termination"], attributes=attributes, row=raw.line)


def assemble(items: Iterable[_Raw | RowError]) -> Iterator[CodeRecord | RowError]:
    """Join first lines and continuation lines into one CodeRecord per code."""
    pending: _Pending | None = None
    seen: set[tuple[str, str]] = set()
    for item in items:
        if isinstance(item, RowError):
            yield item
            continue
        f = item.fields
        recid, code = f.get("RECID", "").strip(), f.get("HCPC", "").strip().upper()
        if recid in FIRST_LINE:
            if pending is not None:
                yield _record(pending)
                pending = None
            code_set = FIRST_LINE[recid]
            pattern = PROCEDURE if recid == "3" else MODIFIER
            if not pattern.match(code):
                kind = "a HCPCS Level II procedure code (letter + 4 digits)" if recid == "3" else \
                    "a two-character modifier"
                yield RowError(item.file, item.line, f"RECID {recid}: {code!r} is not {kind}")
                continue
            if (code_set, code) in seen:
                yield RowError(item.file, item.line, f"{code} appears again as a first line (RECID {recid})")
                continue
            seen.add((code_set, code))
            pending = _Pending(item, code, code_set, recid)
        elif recid in CONTINUES:
            if pending is None or pending.code != code or pending.recid != CONTINUES[recid]:
                yield RowError(item.file, item.line, f"continuation record (RECID {recid}) for {code!r} without a "
                                                     f"first line (RECID {CONTINUES[recid]}) for that code")
                continue
            text = f.get("LONG DESCRIPTION", "")
            if text:
                pending.extra.append(text)
        else:
            yield RowError(item.file, item.line, f"RECID {recid!r} is not 3, 4, 7 or 8 (code {code!r})")
    if pending is not None:
        yield _record(pending)


# ------------------------------------------------------------------ the project's lay terms

def _lay_term_problem(code: str) -> str | None:
    if not PROCEDURE.match(code):
        return f"{code!r} is not a HCPCS Level II procedure code (a capital letter and four digits)"
    return None


def read_lay_terms(path: Path) -> LayTerms:
    """The HCPCS lay-term table at ``path``: each row names a Level II procedure code once, with at least one term.
    Whether the release holds the code is checked as its records go by (``with_lay_terms``)."""
    return read_lay_term_table(path, _lay_term_problem)


def _iso(date: int) -> str:
    text = str(date)
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def with_lay_terms(items: Iterable[CodeRecord | RowError], table: LayTerms, file: str
                   ) -> Iterator[CodeRecord | RowError]:
    """The release's items with the table's terms merged into each named code's ``lay_terms`` (after any it has,
    repeats dropped). The table's malformed rows come first; a row for a code that ``file`` ends (TERM DT) comes
    before that code, and rows for codes ``file`` does not hold come last."""
    yield from table.errors
    found: set[str] = set()
    for item in items:
        if isinstance(item, CodeRecord) and item.code_set == "HCPCS" and item.code in table.terms:
            code = item.code
            found.add(code)
            if item.termination_date is not None:
                yield RowError(table.path, table.lines[code], f"{code} is terminated ({_iso(item.termination_date)}) "
                                                              f"in {file}: name the code that replaced it")
            else:
                item.attributes["lay_terms"] = unique_terms([*item.attributes.get("lay_terms", []),
                                                             *table.terms[code]])
                if code in table.notes:
                    item.attributes["lay_terms_note"] = table.notes[code]
        yield item
    for code, line in table.lines.items():
        if code not in found:
            yield RowError(table.path, line, f"{code} is not a procedure code of {file}")


# ------------------------------------------------------------------ loading

def load_hcpcs(path: Path, version: str | None = None, lay_terms: Path | None = DEFAULT_LAY_TERMS) -> ParsedRelease:
    """Read a CMS HCPCS Level II file (zip, fixed-width TXT, ANWEB CSV or XLSX) into a release of codes, with the
    lay-term table ``lay_terms`` merged in (the repository's by default; None for CMS's descriptors only).

    The version is the argument, else inferred from the file name ("HCPC2020..." -> "2020",
    "HCPC2026_OCT..." -> "2026-10"); an IngestError if neither gives one.
    """
    path = Path(path)
    file, records = _records(path)
    # Read up to the first record now, so that a file that is not HCPCS at all fails here, not in the writer.
    first = next(records, None)
    if version is None:
        version = infer_version(path.name) or infer_version(file.rsplit("!", 1)[-1])
        if version is None:
            raise IngestError(path, "cannot infer the HCPCS release from the file name; pass version= "
                                    "(e.g. '2026' or '2026-10')")
    table = read_lay_terms(lay_terms) if lay_terms is not None else None

    def items():
        if first is not None:
            yield from assemble(_chain(first, records))

    digest = sha256_of(path)
    if table is None:
        return ParsedRelease(DATASET, version, str(path), items(), digest)
    # The recipe and the table's digest join the file's: editing the table reloads the release instead of reading
    # as "unchanged".
    return ParsedRelease(DATASET, version, str(path), with_lay_terms(items(), table, file),
                         hashlib.sha256(f"{digest}+{RECIPE}+{table.sha256}".encode()).hexdigest(),
                         notes=[f"lay terms of {len(table.terms)} codes from {table.path} "
                                f"(sha256 {table.sha256[:12]})"])


def _chain(first, rest):
    yield first
    yield from rest
