"""Drug names to HCPCS codes and doses to billing units (rag/drugs.py and corpora/drugs/brand_generic.csv)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from rag.drugs import (
    DEFAULT_TABLE,
    Dose,
    DoseError,
    code_lines_for_dose,
    code_units,
    load_drug_table,
    parse_dose,
    parse_doses,
    read_drug_table,
    units_for,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
HCPCS_2020 = SHARED / "hcpcs_level2_2020_cms" / "HCPC2020_ANWEB.csv"


@pytest.fixture(scope="module")
def table():
    return load_drug_table()


def _code(table, hcpcs):
    return table.by_code(hcpcs)[0]


@pytest.mark.unit
def test_the_table_names_the_most_used_injectables(table):
    brands = {c.brand.lower() for c in table.codes}
    assert len(brands) >= 150
    expected = {"Solu-Medrol": "J2930", "Kenalog": "J3301", "Toradol": "J1885", "Depo-Medrol": "J1040",
                "Rocephin": "J0696", "Zofran": "J2405", "Prolia": "J0897", "Xgeva": "J0897", "Remicade": "J1745",
                "Neulasta": "J2506"}
    for brand, hcpcs in expected.items():
        match = table.lookup(brand)
        assert match is not None and match.kind == "brand", brand
        assert hcpcs in match.hcpcs_codes, (brand, match.hcpcs_codes)
    per = {c.hcpcs: (c.per_amount, c.per_unit) for c in table.codes}
    assert per["J2930"] == (125, "mg") and per["J1040"] == (80, "mg") and per["J3301"] == (10, "mg")
    assert per["J1885"] == (15, "mg") and per["J0897"] == (1, "mg") and per["J1745"] == (10, "mg")
    assert table.lookup("methylprednisolone sodium succinate").generics == ("methylprednisolone sodium succinate",)


@pytest.mark.unit
@pytest.mark.shared_data
def test_every_code_and_unit_agrees_with_the_hcpcs_2020_file(table):
    if not HCPCS_2020.is_file():
        pytest.skip(f"{HCPCS_2020} is absent: the HCPCS 2020 file lives only in ../shared/data")
    with open(HCPCS_2020, encoding="latin-1", newline="") as handle:
        rows = {row["HCPC"].strip(): row for row in csv.DictReader(handle)}
    checked = 0
    for code in table.codes:
        row = rows.get(code.hcpcs)
        if not code.in_hcpcs_2020:
            assert row is None, f"{code.hcpcs} is in the 2020 file: mark it in_hcpcs_2020=yes"
            continue
        assert row is not None, code.hcpcs
        assert not row["TERM DT"].strip(), f"{code.hcpcs} was already terminated in 2020"
        descriptor = row["LONG DESCRIPTION"].lower().replace(",", "")
        head = re.split(r"[ (]", code.generic.lower())[0]
        assert head in descriptor or code.brand.lower() in descriptor, (code.hcpcs, code.generic, descriptor)
        if code.per_unit == "dose":
            assert "per dose" in descriptor, code.hcpcs
        elif code.per_unit != "injection" and code.hcpcs not in ("J0702", "J2543"):  # combination products
            amount = f"{code.per_amount:g}"
            words = {"mg": r"(mg|milligrams?)", "mcg": r"(mcg|micrograms?)", "g": r"(g|gm|grams?)",
                     "units": r"(units?|iu|i\.u\.|usp units)", "ml": r"(ml|cc)"}[code.per_unit]
            if code.per_unit == "g" and amount == "1":
                assert re.search(r"(per|1) (gm|gram|g)\b", descriptor), (code.hcpcs, descriptor)
            else:
                assert re.search(rf"(?<![\d.]){re.escape(amount)} ?{words}\b", descriptor), (code.hcpcs, descriptor)
        checked += 1
    assert checked >= 250


@pytest.mark.unit
def test_names_are_found_in_questions_with_typos_and_without_false_alarms(table):
    cases = {"solumedrol 125mg IV": "J2930", "J code for kenalog 40 mg knee injection": "J3301",
             "toradal 30 mg IM": "J1885", "rocefin 1 g IM": "J0696", "zofrin 4 mg": "J2405",
             "pt got remicaid 400 mg": "J1745", "dexamethazone 4mg": "J1100", "Invega sustena 234 mg": "J2426",
             "what is the hcpcs code for ketorolac": "J1885", "ondansetron 8 mg": "J2405"}
    for question, hcpcs in cases.items():
        matches = table.resolve(question)
        assert matches and hcpcs in matches[0].hcpcs_codes, (question, matches)
    both = table.resolve("Zofran 4 mg and Toradol 30 mg")
    assert [m.name for m in both] == ["zofran", "toradol"]
    for question in ("chronic kidney disease stage 3 with hypertension", "can 99213 and 20610 be billed together",
                     "dx code rheumatoid arthritis right hand", "should my patient get an MRI",
                     "modifier for distinct procedural service", "screening mammogram bilateral",
                     "what is the MUE for 97110", "pt s/p fall with fx of left wrist"):
        assert table.resolve(question) == [], question


@pytest.mark.unit
def test_doses_are_read_in_the_forms_coders_type():
    assert parse_dose("125 mg") == Dose(125.0, "mg", "125 mg")
    assert (parse_dose("1 g").amount, parse_dose("1 g").unit) == (1.0, "g")
    assert (parse_dose("solumedrol 80mg").amount, parse_dose("80mg").unit) == (80.0, "mg")
    assert (parse_dose("2 mL of 40 mg/mL").amount, parse_dose("2 mL of 40 mg/mL").unit) == (80.0, "mg")
    assert parse_dose("40 mg/mL, 2 mL vial").amount == 80.0
    assert parse_dose("500 mcg").unit == "mcg" and parse_dose("1,000 units").amount == 1000.0
    assert parse_dose("Dysport 300 units").unit == "units"
    assert parse_dose("5 mg/kg IV") is None  # weight-based: not a dose to bill
    assert parse_dose("J1040 x 2") is None and parse_dose("CPT 20610") is None
    assert [d.amount for d in parse_doses("Zofran 4 mg and Toradol 30 mg")] == [4.0, 30.0]


@pytest.mark.unit
def test_units_are_the_dose_over_the_code_amount_rounded_up_with_unit_conversion(table):
    assert units_for(Dose(125, "mg"), _code(table, "J2930")) == 1
    assert units_for(Dose(80, "mg"), _code(table, "J1040")) == 1
    assert units_for(Dose(30, "mg"), _code(table, "J1885")) == 2
    assert units_for(Dose(60, "mg"), _code(table, "J0897")) == 60
    assert units_for(Dose(1, "g"), _code(table, "J0696")) == 4  # ceftriaxone per 250 mg
    assert units_for(Dose(40, "mg"), _code(table, "J3301")) == 4
    assert units_for(Dose(0.3, "mg"), _code(table, "J2785")) == 3  # not 4 from floating point
    assert units_for(Dose(500, "mcg"), _code(table, "J1100")) == 1  # 0.5 mg of a per-1-mg code
    assert units_for(Dose(3.375, "g"), _code(table, "J2543")) == 3
    partial = code_units(Dose(100, "mg"), _code(table, "J2930"))
    assert (partial.units, partial.billed_amount, partial.unused_amount) == (1, 125.0, 25.0)
    with pytest.raises(DoseError):
        units_for(Dose(100, "units"), _code(table, "J1885"))
    with pytest.raises(DoseError):
        units_for(Dose(0, "mg"), _code(table, "J1885"))


@pytest.mark.unit
def test_several_strengths_of_one_drug_become_the_lines_a_coder_reports(table):
    depo = table.lookup("Depo-Medrol").codes
    lines = [(line.code.hcpcs, line.units) for line in code_lines_for_dose(depo, Dose(120, "mg"))]
    assert lines == [("J1040", 1), ("J1030", 1)]
    assert [(x.code.hcpcs, x.units) for x in code_lines_for_dose(depo, Dose(60, "mg"))] == [("J1030", 1), ("J1020", 1)]
    assert [(x.code.hcpcs, x.units) for x in code_lines_for_dose(depo, Dose(10, "mg"))] == [("J1020", 1)]
    solu = table.lookup("Solu-Medrol").codes
    assert [(x.code.hcpcs, x.units) for x in code_lines_for_dose(solu, Dose(1, "g"))] == [("J2930", 8)]
    neulasta = table.lookup("Neulasta").codes  # J2505 (6 mg) was terminated: the current per-0.5 mg code is used
    assert [(x.code.hcpcs, x.units) for x in code_lines_for_dose(neulasta, Dose(6, "mg"))] == [("J2506", 12)]


@pytest.mark.unit
def test_a_bad_table_fails_with_its_line(tmp_path):
    header = "brand,generic,hcpcs,per_amount,per_unit,in_hcpcs_2020,terminated_on,note\n"
    for body, message in (("Zofran,ondansetron,J24,1,mg,yes,,\n", "not a HCPCS drug code"),
                          ("Zofran,ondansetron,J2405,one,mg,yes,,\n", "not a number"),
                          ("Zofran,ondansetron,J2405,1,furlongs,yes,,\n", "not usable"),
                          (",ondansetron,J2405,1,mg,yes,,\n", "brand and generic"),
                          ("Zofran,ondansetron,J2405,1,mg,yes,2021,\n", "not a date")):
        path = tmp_path / "drugs.csv"
        path.write_text(header + body, encoding="utf-8")
        with pytest.raises(ValueError, match=f"{path}:2: .*{message}"):
            read_drug_table(path)
    path.write_text("brand,generic\nZofran,ondansetron\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header lacks"):
        read_drug_table(path)
    with pytest.raises(FileNotFoundError):
        read_drug_table(tmp_path / "absent.csv")
    assert DEFAULT_TABLE.is_file()
