"""The project's lay-word vocabulary (corpora/vocabulary/lay_words.csv): well-formed rows, and every clinical
word it maps to is a word the code sets use, checked against the real ICD-10-CM FY2026 tabular titles and the
HCPCS Level II long descriptors in ../shared/data (read in place; skipped where that folder is absent)."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "corpora" / "vocabulary" / "lay_words.csv"
DATA = REPO.parent / "shared" / "data"
TABULAR = DATA / "icd10cm_fy2026_cdc" / "icd10c-tabular-April-1-2026.xml"
HCPCS = DATA / "hcpcs_level2_2020_cms" / "HCPC2020_ANWEB.csv"
WORD = re.compile(r"[a-z0-9]+")


def _normalise(text: str) -> str:
    """Lower case, words only, single spaces: "Alzheimer's disease, unspecified" -> "alzheimer s disease unspecified"."""
    return " ".join(WORD.findall(text.lower()))


def _rows() -> list[tuple[int, list[str]]]:
    with open(TABLE, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        rows = [(reader.line_num, row) for row in reader]
    return rows


@pytest.mark.unit
def test_header_is_lay_clinical():
    with open(TABLE, encoding="utf-8", newline="") as handle:
        assert handle.readline().rstrip("\r\n") == "lay,clinical"


@pytest.mark.unit
def test_every_row_is_one_lay_phrase_with_clinical_alternatives():
    rows = _rows()[1:]
    assert 600 <= len(rows) <= 900, f"{len(rows)} rows; the table aims for 600-900"
    seen: dict[str, int] = {}
    for line, row in rows:
        where = f"lay_words.csv:{line}"
        assert len(row) == 2, f"{where}: {len(row)} fields, want lay,clinical"
        lay, clinical = row
        assert lay and clinical, f"{where}: an empty field"
        for field in (lay, clinical):
            assert field == field.lower(), f"{where}: {field!r} is not lower case"
            assert field == " ".join(field.split()), f"{where}: {field!r} has padding or a double space"
        assert 1 <= len(lay.split()) <= 5, f"{where}: {lay!r} is not 1-5 words"
        alternatives = clinical.split("|")
        assert all(a and a == a.strip() for a in alternatives), f"{where}: an empty or padded alternative in {clinical!r}"
        assert len(set(alternatives)) == len(alternatives), f"{where}: an alternative repeats in {clinical!r}"
        assert lay not in alternatives, f"{where}: {lay!r} maps to itself"
        assert lay not in seen, f"{where}: {lay!r} listed twice (first on line {seen[lay]})"
        seen[lay] = line


@pytest.fixture(scope="module")
def descriptor_text() -> str:
    """Every ICD-10-CM tabular title (chapters, blocks, codes, 7th-character extensions) and HCPCS Level II long
    descriptor, normalised, one per line, each padded with spaces so a phrase matches only as whole words."""
    missing = [str(p) for p in (TABULAR, HCPCS) if not p.is_file()]
    if missing:
        pytest.skip(f"../shared/data (ICD-10-CM FY2026 tabular, HCPCS 2020) not found: {', '.join(missing)}")
    texts: set[str] = set()
    for element in ET.parse(TABULAR).getroot().iter():
        if element.tag in ("desc", "extension") and element.text:
            texts.add(_normalise(element.text))
    with open(HCPCS, encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            if len(record["HCPC"]) == 5:  # codes, not the two-character modifiers
                texts.add(_normalise(record["LONG DESCRIPTION"]))
    return "".join(f" {t} \n" for t in texts)


@pytest.mark.shared_data
def test_every_clinical_alternative_is_used_by_the_code_sets(descriptor_text):
    unused = []
    for line, (lay, clinical) in _rows()[1:]:
        for alternative in clinical.split("|"):
            if f" {_normalise(alternative)} " not in descriptor_text:
                unused.append(f"lay_words.csv:{line} {lay} -> {alternative}")
    assert not unused, "clinical words no ICD-10-CM title or HCPCS long descriptor uses:\n" + "\n".join(unused)
