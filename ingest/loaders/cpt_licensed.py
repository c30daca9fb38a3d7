"""Licensed CPT descriptors, supplied by the user: ``code<TAB>descriptor``, one code per line.

CPT descriptors are copyrighted by the American Medical Association. CasePilot ships no CPT descriptor text:
a user who holds a CPT licence points the loader at their own file, which is read into the local reference
store only. The file is never committed to the repository, never copied into test fixtures, and never
bundled in a release (tests use invented descriptors).

Format: UTF-8 (a BOM is fine) or latin-1/Windows-1252; blank lines and lines starting with '#' are skipped;
an optional header line (``code<TAB>descriptor``, ``CPT Code<TAB>Description`` ...) may come first.
Valid codes: five digits (Category I), or four digits and F (Category II) or T (Category III).
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.loaders.files import decode_text, sha256_of, split_lines
from ingest.records import IngestError, ParsedRelease, RowError
from rag.stores.schema import CodeRecord

DATASET = "cpt_licensed"
ORIGIN = "AMA CPT (licensed file supplied by the user)"
CPT_CODE = re.compile(r"^(\d{5}|\d{4}[FT])$")
CATEGORY = {"F": "II", "T": "III"}
HEADER_WORDS = re.compile(r"\b(code|cpt|hcpcs|descriptor|description)\b", re.IGNORECASE)


def parse_cpt_descriptors(text: str, file: str) -> list[CodeRecord | RowError]:
    items: list[CodeRecord | RowError] = []
    first_line: dict[str, int] = {}
    header_allowed = True
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        code = fields[0].strip().upper()
        if header_allowed:
            header_allowed = False
            if not CPT_CODE.match(code) and HEADER_WORDS.search(fields[0]):
                continue  # the header line
        if len(fields) < 2:
            items.append(RowError(file, number, "expected code<TAB>descriptor; no tab on this line"))
            continue
        descriptor = " ".join(f.strip() for f in fields[1:] if f.strip())
        if not CPT_CODE.match(code):
            items.append(RowError(file, number, f"{fields[0].strip()!r} is not a CPT code (5 digits, or 4 digits "
                                                "and F or T)"))
            continue
        if not descriptor:
            items.append(RowError(file, number, f"{code}: empty descriptor"))
            continue
        if code in first_line:
            items.append(RowError(file, number, f"{code} again (first on line {first_line[code]})"))
            continue
        first_line[code] = number
        items.append(CodeRecord(code=code, code_set="CPT", long_description=descriptor,
                                attributes={"cpt_category": CATEGORY.get(code[-1], "I"), "origin": ORIGIN,
                                            "licensed": True},
                                row=number))
    return items


def load_cpt_descriptors(path: Path, version: str) -> ParsedRelease:
    """Read a user-supplied, licensed CPT descriptor file (never committed: AMA copyright).

    Malformed lines become RowErrors with their line number; a file with no valid line at all raises
    IngestError naming the file (and the first bad line).
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "file not found")
    if not version:
        raise IngestError(path, "a version is required for a licensed CPT file (e.g. '2026')")
    items = parse_cpt_descriptors(decode_text(path.read_bytes()), str(path))
    if not any(isinstance(i, CodeRecord) for i in items):
        first_error = next((i for i in items if isinstance(i, RowError)), None)
        if first_error is None:
            raise IngestError(path, "no CPT descriptor lines (code<TAB>descriptor) in the file")
        raise IngestError(path, f"no valid CPT descriptor line; not a code<TAB>descriptor file? "
                                f"({first_error.message})", first_error.line)
    return ParsedRelease(DATASET, version, str(path), items, sha256_of(path),
                         notes=["licensed AMA CPT descriptors: local store only, never redistributed"])
