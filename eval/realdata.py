"""Read the real CMS/CDC files in ../shared/data, in place, as ground truth independent of the product.

Nothing here is written into the repository: the generator turns these rows into question sets in a
report or work folder at run time. The readers parse the published formats directly (not through
``ingest``), so a loader bug in the product cannot also bend the answer key.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from xml.etree import ElementTree

from eval.data import (
    HCPCS_2020_CSV,
    ICD10CM_FY2025_CSV,
    ICD10CM_FY2026_XML,
    NCCI_DERIVED,
)


@dataclass(frozen=True)
class PtpRow:
    column1: str
    column2: str
    modifier_indicator: int
    rationale: str


@dataclass(frozen=True)
class MueRow:
    code: str
    value: int
    mai: int
    rationale: str


@dataclass(frozen=True)
class CodeTitle:
    code: str
    title: str


def ptp_files(shared: Path) -> list[Path]:
    return sorted((Path(shared) / NCCI_DERIVED).glob("ptp-*.json.gz"))


def iter_ptp(shared: Path) -> Iterator[PtpRow]:
    """Every practitioner PTP pair in the derived JSON ([column1, [[column2, indicator, rationale], ...]])."""
    for path in ptp_files(shared):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        for column1, partners in data:
            for column2, indicator, rationale in partners:
                yield PtpRow(str(column1), str(column2), int(indicator), str(rationale))
        del data


def load_ptp_index(shared: Path) -> dict[str, dict[str, tuple[int, str]]]:
    """column1 -> column2 -> (modifier indicator, rationale)."""
    index: dict[str, dict[str, tuple[int, str]]] = {}
    for row in iter_ptp(shared):
        index.setdefault(row.column1, {})[row.column2] = (row.modifier_indicator, row.rationale)
    return index


def ptp_lookup(index: dict[str, dict[str, tuple[int, str]]], a: str, b: str) -> list[PtpRow]:
    found = []
    for c1, c2 in ((a, b), (b, a)):
        hit = index.get(c1, {}).get(c2)
        if hit:
            found.append(PtpRow(c1, c2, hit[0], hit[1]))
    return found


def load_mue(shared: Path) -> dict[str, MueRow]:
    with gzip.open(Path(shared) / NCCI_DERIVED / "mue.json.gz", "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    return {str(code): MueRow(str(code), int(value), int(mai), str(rationale)) for code, value, mai, rationale in data}


def load_hcpcs_2020(shared: Path) -> list[CodeTitle]:
    """Active (not terminated) five-character HCPCS Level II codes with their long descriptor."""
    path = Path(shared) / HCPCS_2020_CSV
    rows = []
    with open(path, encoding="latin-1", newline="") as handle:
        for row in csv.DictReader(handle):
            code = (row.get("HCPC") or "").strip().upper()
            title = " ".join((row.get("LONG DESCRIPTION") or "").split())
            if len(code) == 5 and title and not (row.get("TERM DT") or "").strip():
                rows.append(CodeTitle(code, title))
    return rows


def load_icd10cm_fy2025(shared: Path) -> list[CodeTitle]:
    """Billable ICD-10-CM FY2025 codes (dotted) with their long title."""
    path = Path(shared) / ICD10CM_FY2025_CSV
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("billable") == "1":
                rows.append(CodeTitle(row["code_dot"].strip().upper(), " ".join(row["long_name"].split())))
    return rows


def load_icd10cm_fy2026_leaves(shared: Path) -> list[CodeTitle]:
    """Billable ICD-10-CM FY2026 codes whose title is in the CDC tabular XML: the leaf <diag> elements that need
    no 7th character (codes built from a sevenChrDef have no title of their own in the file)."""
    root = ElementTree.parse(Path(shared) / ICD10CM_FY2026_XML).getroot()
    rows: list[CodeTitle] = []

    def walk(diag: ElementTree.Element, needs_seventh: bool) -> None:
        needs_seventh = needs_seventh or diag.find("sevenChrDef") is not None
        children = diag.findall("diag")
        if not children and not needs_seventh:
            name, desc = diag.findtext("name", "").strip().upper(), " ".join(diag.findtext("desc", "").split())
            if name and desc:
                rows.append(CodeTitle(name, desc))
        for child in children:
            walk(child, needs_seventh)

    for chapter in root.iter("chapter"):
        for section in chapter.findall("section"):
            for diag in section.findall("diag"):
                walk(diag, False)
    return rows


def icd10cm_from_package() -> list[CodeTitle]:
    """Fallback when ../shared is absent: billable codes from the simple_icd_10_cm package (a dependency)."""
    import simple_icd_10_cm as cm

    rows = []
    for code in cm.get_all_codes(with_dots=True):
        if cm.is_leaf(code):
            rows.append(CodeTitle(code, cm.get_description(code)))
    return rows


def unique_titles(rows: list[CodeTitle]) -> list[CodeTitle]:
    """Drop descriptors shared by several codes: their answer is ambiguous, so they make no fair item."""
    counts: dict[str, int] = {}
    for row in rows:
        key = row.title.lower()
        counts[key] = counts.get(key, 0) + 1
    return [row for row in rows if counts[row.title.lower()] == 1]
