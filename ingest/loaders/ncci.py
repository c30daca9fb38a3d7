"""NCCI PTP edit and MUE tables in their CMS layouts, plus the derived JSON form used for tests.

PTP TXT (practitioner ``ccipra``, outpatient hospital ``ccioph``): an AMA notice, a wrapped header, then
tab-separated rows: column 1, column 2, '*' if in existence prior to 1996, effective date, deletion date
('*' = none), modifier indicator 0/1/9, rationale. CMS ships them in zips of several TXT parts.
MUE CSV/XLSX: an AMA notice record, a header whose first cell starts with "HCPCS", then code, MUE value,
adjudication indicator ("2 Date of Service Edit: Policy"), rationale.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.loaders.files import (
    csv_rows,
    is_yyyymmdd,
    open_text_members,
    parsed_in_worker,
    read_member_lines,
    sha256_of,
    text_members,
    without_gc,
    xlsx_rows,
)
from ingest.records import IngestError, ParsedRelease, RowError, SourceParts
from rag.stores.schema import NO_DATE, ROW_PART_STRIDE, MueLimit, PtpEdit

CODE = re.compile(r"^[0-9A-Z]{4}[0-9A-Z]$")
NOT_PTP = "no PTP data rows found in the first 50 lines: not a CMS PTP edit file (ccipra/ccioph TXT)"
NOT_MUE = "no MUE header row (first cell 'HCPCS/CPT Code') found: not a CMS MUE table"
PTP_DATASETS = {"ccipra": "ptp_practitioner", "ccioph": "ptp_hospital"}
MUE_DATASETS = {"practitioner": "mue_practitioner", "outpatient": "mue_hospital", "hospital": "mue_hospital",
                "dme": "mue_dme"}


# ------------------------------------------------------------------ PTP

def _ptp_row(fields: list[str], file: str, line: int) -> PtpEdit | RowError:
    if len(fields) < 7:
        return RowError(file, line, f"expected 7 tab-separated fields, found {len(fields)}")
    col1, col2, prior, eff, dele, mod, rationale = (f.strip() for f in fields[:7])
    if not CODE.match(col1) or not CODE.match(col2):
        return RowError(file, line, f"not a HCPCS/CPT code pair: {col1!r}, {col2!r}")
    if not is_yyyymmdd(eff):
        return RowError(file, line, f"effective date {eff!r} is not YYYYMMDD")
    if dele not in ("*", "") and not is_yyyymmdd(dele):
        return RowError(file, line, f"deletion date {dele!r} is not YYYYMMDD or '*'")
    if mod not in ("0", "1", "9"):
        return RowError(file, line, f"modifier indicator {mod!r} is not 0, 1 or 9")
    deletion = NO_DATE if dele in ("*", "") else int(dele)
    return PtpEdit(col1, col2, prior == "*", int(eff), deletion, int(mod), rationale, line)


def iter_ptp_txt(lines: Iterable[str], file: str, row_base: int = 0) -> Iterator[PtpEdit | RowError]:
    in_data = False
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.split("\t")
        if not in_data:
            # Header lines (notice, title, wrapped column names) come before the first code pair.
            if CODE.match(fields[0].strip()) and len(fields) >= 2 and CODE.match(fields[1].strip()):
                in_data = True
            else:
                if number > 50:
                    raise IngestError(file, NOT_PTP, number)
                continue
        yield _ptp_row(fields, file, row_base + number)
    if not in_data:
        raise IngestError(file, NOT_PTP)


@without_gc
def _parse_ptp_part(job: tuple[str, str | None, int]) -> list[PtpEdit | RowError]:
    path, member, part = job
    name, lines = read_member_lines(Path(path), member, "latin-1")
    return list(iter_ptp_txt(lines, name, part * ROW_PART_STRIDE))


def load_ptp_txt(paths: Path | list[Path], version: str, dataset: str | None = None) -> ParsedRelease:
    """One release from one or more TXT files or zips (CMS splits a quarter into several parts).

    Rows are numbered part * ROW_PART_STRIDE + line, so a citation names the part and its line.
    """
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    dataset = dataset or _dataset_from_name(paths[0], PTP_DATASETS, "ptp_practitioner")

    members = [(str(path), member) for path in paths for member in text_members(path, (".txt",))]
    parts = SourceParts(_parse_ptp_part, [(path, member, part) for part, (path, member) in enumerate(members)])
    return ParsedRelease(dataset, version, _describe(paths), parsed_in_worker(parts.parse, parts.jobs),
                         _digest(paths), parts=parts)


@without_gc
def _parse_derived_part(job: tuple[str, int]) -> list[PtpEdit | RowError | tuple]:
    path, part = job
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            groups = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise IngestError(path, f"not a gzip JSON PTP part: {error}") from error
    rows: list[PtpEdit | RowError | tuple] = []
    row = part * ROW_PART_STRIDE
    for group in groups:
        if not (isinstance(group, list) and len(group) == 2 and isinstance(group[1], list)):
            row += 1
            rows.append(RowError(path, row, "expected [column1, [[column2, indicator, rationale], ...]]"))
            continue
        column1 = group[0]
        for column2, indicator, rationale in group[1]:
            row += 1
            # Plain tuples in PtpEdit's field order: they cross the process boundary far cheaper.
            rows.append((column1, column2, False, 0, NO_DATE, indicator, rationale, row))
    return rows


def load_ptp_derived_json(paths: list[Path], version: str, dataset: str = "ptp_practitioner") -> ParsedRelease:
    """The derived form: [column1, [[column2, modifier_indicator, rationale], ...]] per gzip part.

    It carries no dates: effective date 0 means "not in source". Rows are numbered per part, as for TXT parts.
    """
    paths = [Path(p) for p in paths]
    parts = SourceParts(_parse_derived_part, [(str(p), i) for i, p in enumerate(paths)])
    return ParsedRelease(dataset, version, _describe(paths), parsed_in_worker(parts.parse, parts.jobs),
                         _digest(paths), notes=["derived JSON: no effective or deletion dates"], parts=parts)


# ------------------------------------------------------------------ MUE

def _mue_row(cells: list[str], file: str, line: int) -> MueLimit | RowError:
    if len(cells) < 3:
        return RowError(file, line, f"expected code, MUE value, adjudication indicator, rationale; got {cells!r}")
    code, value, mai = cells[0].strip(), cells[1].strip(), cells[2].strip()
    rationale = cells[3].strip() if len(cells) > 3 else ""
    if not CODE.match(code):
        return RowError(file, line, f"not a HCPCS/CPT code: {code!r}")
    if not value.isdigit():
        return RowError(file, line, f"MUE value {value!r} is not a whole number")
    if mai[:1] not in ("1", "2", "3"):
        return RowError(file, line, f"adjudication indicator {mai!r} does not start with 1, 2 or 3")
    return MueLimit(code, int(value), int(mai[0]), rationale, line)


def _check_mue_header(cells: list[str], file: str, line: int) -> None:
    """The columns are read by position, so a header in another layout would load its rows as wrong limits."""
    names = [" ".join(c.split()).upper() for c in cells]
    if len(names) >= 3 and "MUE" in names[1] and "VALUE" in names[1] and "ADJUDICATION" in names[2]:
        return
    raise IngestError(file, "the header row is not the CMS MUE layout (HCPCS/CPT Code, <services> MUE Values, "
                            f"MUE Adjudication Indicator, MUE Rationale): found {[' '.join(c.split()) for c in cells]}",
                      line)


def iter_mue_rows(rows: Iterable[tuple[int, list[str]]], file: str) -> Iterator[MueLimit | RowError]:
    in_data = False
    for line, cells in rows:
        if not cells or not any(c.strip() for c in cells):
            continue
        if not in_data:
            if cells[0].strip().upper().startswith("HCPCS"):
                _check_mue_header(cells, file, line)
                in_data = True
            elif line > 60:
                raise IngestError(file, NOT_MUE, line)
            continue
        yield _mue_row(cells, file, line)
    if not in_data:
        raise IngestError(file, NOT_MUE)


def load_mue(path: Path, version: str, dataset: str | None = None) -> ParsedRelease:
    dataset = dataset or _dataset_from_name(path, MUE_DATASETS, "mue_practitioner")

    def items():
        if path.suffix.lower() == ".xlsx":
            yield from iter_mue_rows(xlsx_rows(path, str(path)), str(path))
            return
        for member, lines in open_text_members(path, suffixes=(".csv",), encoding="latin-1"):
            yield from iter_mue_rows(csv_rows(lines), member)

    return ParsedRelease(dataset, version, str(path), items(), sha256_of(path))


def load_mue_derived_json(path: Path, version: str, dataset: str = "mue_practitioner") -> ParsedRelease:
    """The derived form: [[code, mue_value, mai, rationale], ...]."""

    def items():
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                rows = json.load(handle)
        except (OSError, json.JSONDecodeError) as error:
            raise IngestError(path, f"not a gzip JSON MUE table: {error}") from error
        for number, row in enumerate(rows, start=1):
            yield _mue_row([str(c) for c in row], str(path), number)

    return ParsedRelease(dataset, version, str(path), items(), sha256_of(path))


def _digest(paths: list[Path]) -> str:
    if len(paths) == 1:
        return sha256_of(paths[0])
    return hashlib.sha256("|".join(sha256_of(p) for p in paths).encode()).hexdigest()


def _describe(paths: list[Path]) -> str:
    if len(paths) == 1:
        return str(paths[0])
    return f"{paths[0].parent}/{{{','.join(p.name for p in paths)}}}"


def _dataset_from_name(path: Path, names: dict[str, str], default: str) -> str:
    lowered = path.name.lower()
    return next((dataset for key, dataset in names.items() if key in lowered), default)
