"""Code, modifier, unit and date recognition in free text (rag/codes.py). Pure functions: no store."""

from __future__ import annotations

import pytest

from rag.codes import codes_in, find_modifiers, normalize_icd10, recognize

pytestmark = pytest.mark.unit


def mentions(text: str) -> list[tuple[str, str]]:
    return [(m.code, m.code_set) for m in recognize(text).codes if not m.alternative]


# ---------------------------------------------------------------- code shapes

@pytest.mark.parametrize("text, expected", [
    ("What is CPT 22514?", [("22514", "CPT")]),
    ("Is 3074F a valid code?", [("3074F", "CPT")]),            # Category II: 4 digits + F
    ("what is 0042t", [("0042T", "CPT")]),                      # Category III: 4 digits + T, any case
    ("PLA test 0001U", [("0001U", "CPT")]),                     # proprietary laboratory analysis
    ("covid vaccine admin 0001A", [("0001A", "CPT")]),          # vaccine administration (4 digits + A)
    ("How many units of J1885 per day?", [("J1885", "HCPCS")]),
    ("g0438 vs G0439", [("G0438", "HCPCS"), ("G0439", "HCPCS")]),
    ("codes 99202-99215", [("99202", "CPT"), ("99215", "CPT")]),  # a range names both ends
])
def test_procedure_code_shapes(text, expected):
    assert mentions(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("E11.9 type 2 diabetes", "E11.9"),
    ("E119 type 2 diabetes", "E11.9"),               # without the dot: the dot is restored
    ("m80.08xa fracture", "M80.08XA"),               # 7th character, lower case
    ("M8008XA fracture", "M80.08XA"),                # 7th character, no dot
    ("S72.001A hip", "S72.001A"),
    ("T14.90XA", "T14.90XA"),
    ("I10 hypertension", "I10"),                     # a three-character category
    ("O09.523", "O09.523"),
    ("U07.1 COVID-19", "U07.1"),                     # U codes are recognised with their dot
])
def test_icd10cm_with_and_without_the_dot(text, expected):
    found = [m for m in recognize(text).codes if m.code_set == "ICD10CM"]
    assert [m.code for m in found] == [expected]


def test_bare_icd_reading_of_a_hcpcs_code_is_only_an_alternative():
    found = recognize("J1885 units").codes
    hcpcs = [m for m in found if m.code_set == "HCPCS"]
    icd = [m for m in found if m.code_set == "ICD10CM"]
    assert [m.code for m in hcpcs] == ["J1885"] and not hcpcs[0].alternative
    assert [m.code for m in icd] == ["J18.85"] and icd[0].alternative


@pytest.mark.parametrize("text", [
    "version 2.1.3 of the file", "call 555-1234", "in 2026 the rules changed", "ZIP 123456", "page 12",
    "L33569",  # an LCD id is not an ICD-10-CM code in written text
])
def test_text_without_codes(text):
    assert codes_in(text) == ()


def test_codes_in_wants_the_dot_for_icd10cm_and_keeps_order():
    text = "Report 20610 with M17.11, then J3301 and 0042T; the bare E119 is not read; also 99213."
    assert codes_in(text) == ("20610", "M17.11", "J3301", "0042T", "99213")


def test_normalize_icd10():
    assert normalize_icd10("m8008xa") == "M80.08XA"
    assert normalize_icd10("I10") == "I10"
    assert normalize_icd10("E11.9") == "E11.9"


# ---------------------------------------------------------------- modifiers

@pytest.mark.parametrize("text, expected", [
    ("append -25 to the E/M", ["25"]),
    ("bill 99213-25 with 20610-59", ["25", "59"]),
    ("20610 mod 59", ["59"]),
    ("use the XS modifier on 97110", ["XS"]),
    ("modifier XS", ["XS"]),
    ("When do I use modifier XS instead of 59?", ["XS", "59"]),
    ("modifiers 59 and 25", ["59", "25"]),
    ("LT and RT modifiers", ["LT", "RT"]),
    ("XE, XS or XU modifier", ["XE", "XS", "XU"]),
    ("modifier: GA", ["GA"]),
    ("G0439-33", ["33"]),
])
def test_modifier_forms(text, expected):
    assert find_modifiers(text) == expected


@pytest.mark.parametrize("text", [
    "Is it billable or not?", "codes 99202-99215", "How do I report it on the claim?", "what modifier is it",
])
def test_no_false_modifiers(text):
    assert find_modifiers(text) == []


# ---------------------------------------------------------------- units and dates of service

@pytest.mark.parametrize("text, units", [
    ("4 units of J1885", [4]),
    ("J1885 4u", [4]),
    ("J1885 4 u", [4]),
    ("J1885 x3", [3]),
    ("96372 2x", [2]),
    ("PLA code 0001U", []),          # not "1 unit"
    ("no numbers here", []),
])
def test_units(text, units):
    assert recognize(text).units == units


@pytest.mark.parametrize("text, dates", [
    ("DOS 2026-03-05", [20260305]),
    ("DOS 03/05/2026", [20260305]),
    ("DOS 3/5/26", [20260305]),
    ("seen on March 5, 2026", [20260305]),
    ("seen on Sept 30th 2025", [20250930]),
    ("DOS 2026-02-30", []),          # not a real date
    ("13/45/2026", []),
])
def test_dates_of_service(text, dates):
    assert recognize(text).dates == dates


def test_everything_in_one_sentence():
    found = recognize("Can 22511-59 and 22514 x2 be billed together on 04/01/2026 for M80.08XA?")
    assert found.code_strings == ["22511", "22514", "M80.08XA"]
    assert found.modifiers == ["59"]
    assert found.units == [2]
    assert found.dates == [20260401]


@pytest.mark.unit
@pytest.mark.parametrize(("text", "code", "position"), [
    ("K35.30 and K35.3", "K35.3", 11),  # not inside the longer code
    ("99259 59", "59", 6), ("(22514)", "22514", 1), ("x22514", "22514", None), ("22514x", "22514", None),
    ("M80.08XA.", "M80.08XA", 0)])
def test_a_code_is_found_only_as_a_whole_token(text, code, position):
    from rag.codes import code_position

    assert code_position(text, code) == position
