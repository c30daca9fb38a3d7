"""ICD-10-CM loader over the simple_icd_10_cm package (a declared dependency: no ../shared needed)."""

from __future__ import annotations

import pytest

from ingest.loaders.icd10cm import load_icd10cm
from rag.stores.schema import CodeRecord

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def icd10cm():
    """The parsed release, its records by code, and the records in order. (Its speed is measured by
    benchmarks/bench_icd10cm_load.py, not here.)"""
    parsed = load_icd10cm()
    records = list(parsed)
    return parsed, {r.code: r for r in records}, records


def test_every_category_subcategory_and_code_once_with_dots(icd10cm):
    parsed, by_code, records = icd10cm
    assert (parsed.dataset, parsed.version) == ("icd10cm", "FY2026")
    assert all(isinstance(r, CodeRecord) and r.code_set == "ICD10CM" for r in records)
    assert len(records) == len(by_code) == 98_186
    assert sum(r.attributes["billable"] for r in records) == 74_719
    assert sum(len(r.code) == 3 for r in records) == 1_918  # categories
    assert "M80.08XA" in by_code and "M8008XA" not in by_code
    assert not any(c.isdigit() for c in by_code if len(c) <= 2)  # no chapters ("13")
    assert not any("-" in c for c in by_code)  # no blocks ("M80-M85")
    assert [r.row for r in records[:3]] == [1, 2, 3] and records[0].code == "A00"
    assert "simple_icd_10_cm" in parsed.source_file and len(parsed.source_sha256) == 64


def test_seventh_character_code(icd10cm):
    _, by_code, _ = icd10cm
    code = by_code["M80.08XA"]
    assert code.long_description == ("Age-related osteoporosis with current pathological fracture, vertebra(e), "
                                      "initial encounter for fracture")
    assert code.family == "Osteoporosis with current pathological fracture"  # its category
    assert code.attributes["billable"] is True
    assert code.attributes["parent"] == "M80.08"
    assert code.attributes["category"] == "M80"
    assert code.attributes["block"] == "M80-M85"
    assert code.attributes["chapter"] == "13"
    assert code.attributes["chapter_title"].startswith("Diseases of the musculoskeletal system")
    assert "excludes1" not in code.attributes  # notes stay where the Tabular List puts them
    assert by_code["M80.08"].attributes["billable"] is False


def test_category_notes(icd10cm):
    _, by_code, _ = icd10cm
    m80 = by_code["M80"]
    assert m80.family == "Disorders of bone density and structure (M80-M85)"  # a category's family is its block
    assert m80.attributes["billable"] is False
    assert "collapsed vertebra NOS (M48.5)" in m80.attributes["excludes1"]
    assert m80.attributes["excludes2"] == ["personal history of (healed) osteoporosis fracture (Z87.310)"]
    assert m80.attributes["includes"] == ["osteoporosis with current fragility fracture"]
    assert m80.attributes["use_additional_code"] == ["code to identify major osseous defect, if applicable (M89.7-)"]
    assert m80.attributes["seventh_characters"]["A"] == "initial encounter for fracture"
    assert "Postmenopausal osteoporosis with current pathological fracture" in \
           by_code["M80.0"].attributes["inclusion_terms"]
    assert "code_first" not in m80.attributes  # empty lists are omitted


def test_the_tabulars_other_names_for_a_code_are_its_search_terms(icd10cm):
    parsed, by_code, _ = icd10cm
    # The CDC tabular lists "Stone in kidney" and "Renal stone" at N20.0: a coder types "kidney stone".
    assert {"Stone in kidney", "Renal stone"} <= set(by_code["N20.0"].attributes["lay_terms"])
    assert by_code["M80"].attributes["lay_terms"] == ["osteoporosis with current fragility fracture"]
    assert "lay_terms" not in by_code["M80.08XA"].attributes  # no synonyms of its own: none invented
    # The loader's recipe is in the release checksum: a new recipe reloads the same package's release.
    from ingest.loaders.icd10cm import _package_data

    assert len(parsed.source_sha256) == 64 and parsed.source_sha256 != _package_data()[1]


def test_leaf_codes_and_single_category_blocks(icd10cm):
    _, by_code, _ = icd10cm
    e119 = by_code["E11.9"]
    assert e119.long_description == "Type 2 diabetes mellitus without complications"
    assert e119.attributes["billable"] is True
    assert e119.family == "Type 2 diabetes mellitus"
    assert by_code["B99"].family == "Other infectious diseases (B99)"  # the block B99 holds only category B99
    assert by_code["B20"].attributes["billable"] is True
    assert any(r.attributes.get("code_first") for r in by_code.values())
    assert any(r.attributes.get("code_also") for r in by_code.values())


def test_explicit_version():
    parsed = load_icd10cm("FY2026-04")
    assert parsed.version == "FY2026-04"


@pytest.mark.shared_data
def test_codes_match_the_cdc_code_list(icd10cm, shared_data):
    """The CDC code list (98,504 lines) less its 22 chapters and blocks is exactly the codes loaded."""
    _, by_code, _ = icd10cm
    text = (shared_data / "icd10cm_fy2026_cdc" / "code-list-April-2026.txt").read_text(encoding="utf-8")
    lines = [line.split(" ")[0] for line in text.splitlines() if line.strip()]
    cdc = {c for c in lines if "-" not in c and not c.isdigit()}
    assert cdc == {c.replace(".", "") for c in by_code}
