"""The project's table of deleted CPT codes (corpora/cpt/deleted_codes.csv): facts only, no AMA descriptor text.

Each row becomes a CPT code record with a termination date, so ``rag.exact.check_code`` reports the code as
"deleted" whatever else lists it (an NCCI table keeps deleted codes' edits for years).

Dates: the CSV gives ``deleted_on``, the first day the code is no longer valid (CPT deletions take effect on
1 January). ``termination_date`` holds the last day it was valid, the day before, which is what the HCPCS file's
TERM DT means too, so both code sets read the same way. ``deleted_on`` is kept in the attributes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from ingest.loaders.corpora import corpus_version
from ingest.loaders.files import FirstLines, table_rows
from ingest.records import IngestError, ParsedRelease, RowError
from rag.stores.schema import CodeRecord

DATASET = "cpt_deleted"
COLUMNS = ("code", "deleted_on", "replacement_codes", "family", "note", "source")
CPT_CODE = re.compile(r"^\d{4}[0-9FT]$")
DEFAULT_FILE = "deleted_codes.csv"


def _yyyymmdd(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def deleted_record(row: dict[str, str], line: int, file: str) -> CodeRecord | RowError:
    """One CSV row as a code record, or the reason it cannot be one."""
    code = (row.get("code") or "").strip().upper()
    if not CPT_CODE.match(code):
        return RowError(file, line, f"{code!r} is not a CPT code")
    deleted_on = _parse_date(row.get("deleted_on") or "")
    if deleted_on is None:
        return RowError(file, line, f"deleted_on {row.get('deleted_on')!r} is not a date (YYYY-MM-DD)")
    replacements = (row.get("replacement_codes") or "").split()
    bad = [c for c in replacements if not CPT_CODE.match(c)]
    if bad:
        return RowError(file, line, f"replacement {', '.join(bad)} is not a CPT code")
    if code in replacements:
        return RowError(file, line, f"{code} lists itself as its replacement")
    note = " ".join((row.get("note") or "").split())
    source = " ".join((row.get("source") or "").split())
    if not note or not source:
        return RowError(file, line, f"missing {'note' if not note else 'source'}")
    family = " ".join((row.get("family") or "").split())
    replaced_by = f" Replaced by {', '.join(replacements)}." if replacements else " No direct replacement code."
    lay = f"Deleted CPT code: no longer valid from {deleted_on.isoformat()}.{replaced_by} {note}"
    return CodeRecord(
        code=code, code_set="CPT", short_description="Deleted CPT code", lay_description=lay, family=family,
        termination_date=_yyyymmdd(deleted_on - timedelta(days=1)), row=line,
        attributes={"replacement_codes": replacements, "note": note, "deleted_on": _yyyymmdd(deleted_on),
                    "source": source, "status": "deleted"},
    )


def _rows(path: Path) -> Iterator[CodeRecord | RowError]:
    file = str(path)
    first = FirstLines(file)
    with open(path, encoding="utf-8", newline="") as handle:
        for line, row in table_rows(csv.DictReader(handle), file, COLUMNS, COLUMNS):
            item = deleted_record(row, line, file)
            if isinstance(item, CodeRecord):
                item = first.repeated(item.code, line) or item
            yield item


def load_deleted_cpt(path: Path) -> ParsedRelease:
    """The deleted-codes table as a reference release (version: a hash of the file, like the other corpora)."""
    path = Path(path)
    if path.is_dir():
        path = path / DEFAULT_FILE
    if not path.is_file():
        raise IngestError(path, "file not found")
    items = list(_rows(path))
    if not any(isinstance(item, CodeRecord) for item in items):
        raise IngestError(path, "no deleted-code rows")
    version = corpus_version([path])
    return ParsedRelease(DATASET, version, str(path), items, version)
