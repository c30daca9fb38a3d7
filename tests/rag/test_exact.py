"""Exact answers from the reference store (rag/exact.py): code lookups, NCCI PTP pairs, MUEs, modifiers, validity.

Most tests run on the tiny hand-made store of tests/rag/conftest.py (it has the dates, deleted edits, indicator
9 and hospital table the real derived files lack); the last ones check the same paths on the real NCCI data.
"""

from __future__ import annotations

import pytest

from rag.exact import check_code, code_facts, format_date, modifier_facts, mue_facts, pair_facts

# CMS's own definitions, written here rather than read from the code's tables. The PTP files' header (e.g.
# ccipra-v322r0-f1.TXT) defines the modifier column as "0=not allowed", "1=allowed", "9=not applicable", and
# CMS's "How to Use the Medicare NCCI Tools" says indicator 9 marks an edit deleted retroactively (its effective
# and deletion dates are the same). The MUE files' "MUE Adjudication Indicator" column reads "1 Line Edit",
# "2 Date of Service Edit: Policy" and "3 Date of Service Edit: Clinical"; CMS's MUE page calls MAI 2 an absolute
# date-of-service edit and says units above an MAI 3 edit may be paid on appeal with documentation.
CMS_PTP_MODIFIER_INDICATORS = {0: "not allowed", 1: "allowed", 9: "not applicable"}
CMS_MUE_ADJUDICATION_INDICATORS = {1: ("line edit",), 2: ("date of service edit", "policy", "absolute"),
                                   3: ("date of service edit", "clinical", "appeal")}


@pytest.mark.unit
def test_format_date():
    assert format_date(20260401) == "2026-04-01"
    assert format_date(99991231) == "none"
    assert format_date(None) == "none"
    assert format_date(0) == "none"


# ---------------------------------------------------------------- code lookups

@pytest.mark.store
def test_code_facts_name_the_code_its_family_and_cite_the_row(tiny_store):
    facts = code_facts(tiny_store, "22514")
    assert len(facts) == 1
    fact = facts[0]
    assert "CPT 22514" in fact.text and "Percutaneous vertebral augmentation" in fact.text
    assert "22513-22515" in fact.text and "Kyphoplasty of one lumbar" in fact.text
    assert fact.citation.kind == "reference" and fact.citation.source == "cpt"
    assert fact.citation.locator == "row 5" and fact.citation.version == "2026"
    assert "22514" in fact.citation.codes


@pytest.mark.store
def test_a_terminated_code_says_so(tiny_store):
    text = code_facts(tiny_store, "A4466")[0].text
    assert "HCPCS A4466" in text and "terminated on 2016-12-31" in text


@pytest.mark.store
def test_unknown_code_has_no_facts(tiny_store):
    assert code_facts(tiny_store, "22519") == []


# ---------------------------------------------------------------- NCCI PTP

@pytest.mark.store
def test_pair_with_an_edit_names_columns_indicator_dates_rationale_and_row(tiny_store):
    result = pair_facts(tiny_store, ["22514", "22511"])  # asked in the "wrong" order: columns come from the row
    practitioner = [f for f in result.ptp if f.dataset == "ptp_practitioner"]
    assert len(practitioner) == 1
    finding = practitioner[0]
    assert (finding.column1, finding.column2, finding.modifier_indicator) == ("22511", "22514", 1)
    assert finding.active and finding.deletion_date is None and finding.row == 10 and finding.version == "2026Q2"
    text = next(f.text for f in result.facts if "practitioner" in f.text)
    assert "22511 is column 1 and 22514 is column 2" in text
    assert "22514 is not paid separately when billed with 22511" in text
    assert f"Modifier indicator 1: {CMS_PTP_MODIFIER_INDICATORS[1]}" in text
    assert "Misuse of column two code with column one code" in text
    assert "effective 2016-01-01" in text and "deletion date none" in text
    citation = next(f.citation for f in result.facts if "practitioner" in f.text)
    assert citation.source == "ptp_practitioner" and citation.version == "2026Q2" and citation.locator == "row 10"
    assert {"22511", "22514"} <= set(citation.codes)


@pytest.mark.store
def test_the_hospital_table_is_answered_separately(tiny_store):
    result = pair_facts(tiny_store, ["22511", "22514"])
    by_table = {f.dataset: f.modifier_indicator for f in result.ptp}
    assert by_table == {"ptp_practitioner": 1, "ptp_hospital": 0}
    assert any("outpatient hospital" in f.text and "Modifier indicator 0" in f.text for f in result.facts)


@pytest.mark.store
def test_indicator_0_means_no_modifier_bypasses(tiny_store):
    result = pair_facts(tiny_store, ["22513", "22514"])
    text = result.facts[0].text
    assert f"Modifier indicator 0: {CMS_PTP_MODIFIER_INDICATORS[0]}" in text
    assert "no modifier bypasses this edit" in text


@pytest.mark.store
def test_indicator_9_is_explained_as_deleted_retroactively(tiny_store):
    result = pair_facts(tiny_store, ["20610", "J1885"])
    finding = next(f for f in result.ptp if f.dataset == "ptp_practitioner")
    assert finding.modifier_indicator == 9 and finding.deletion_date == 20170401
    assert not finding.active
    text = next(f.text for f in result.facts if "practitioner" in f.text)
    assert f"Modifier indicator 9: {CMS_PTP_MODIFIER_INDICATORS[9]}" in text
    assert "deleted retroactively" in text and "not active" in text


@pytest.mark.store
def test_the_date_of_service_decides_whether_a_deleted_edit_applies(tiny_store):
    before = pair_facts(tiny_store, ["20610", "J3301"], service_date=20190601)
    after = pair_facts(tiny_store, ["20610", "J3301"], service_date=20200601)
    assert before.ptp[0].active and not after.ptp[0].active
    assert "deletion date 2019-12-31" in after.facts[0].text
    assert "not active on the date of service" in after.facts[0].text


@pytest.mark.store
def test_a_pair_without_an_edit_says_so_and_names_the_quarter_checked(tiny_store):
    result = pair_facts(tiny_store, ["22514", "J1885"])
    assert result.ptp == []
    texts = [f.text for f in result.facts]
    assert len(texts) == 2  # one per loaded PTP table
    assert all("No NCCI PTP edit pairs 22514 and J1885" in t and "(2026Q2)" in t for t in texts)
    assert {f.citation.source for f in result.facts} == {"ptp_practitioner", "ptp_hospital"}
    assert all(f.citation.locator == "whole table" for f in result.facts)


@pytest.mark.store
def test_three_codes_are_checked_pairwise(tiny_store):
    result = pair_facts(tiny_store, ["22511", "22513", "22514"])
    pairs = {(f.column1, f.column2) for f in result.ptp if f.dataset == "ptp_practitioner"}
    assert pairs == {("22511", "22514"), ("22513", "22514")}
    assert any("No NCCI PTP edit pairs 22511 and 22513" in f.text for f in result.facts)


# ---------------------------------------------------------------- MUE

@pytest.mark.store
def test_mue_value_indicator_meaning_rationale_and_row(tiny_store):
    result = mue_facts(tiny_store, ["J1885"], units=[])
    finding = result.mue[0]
    assert (finding.value, finding.adjudication_indicator, finding.row) == (8, 3, 21)
    text = result.facts[0].text
    assert "The MUE for J1885 (practitioner, 2026Q2) is 8 units" in text
    assert "adjudication indicator 3" in text
    meaning = text.lower().split("adjudication indicator 3", 1)[1]
    assert all(words in meaning for words in CMS_MUE_ADJUDICATION_INDICATORS[3]), meaning
    assert "Rationale: Clinical: Data" in text
    assert result.facts[0].citation.locator == "row 21"


@pytest.mark.store
@pytest.mark.parametrize("code, mai", [("22514", 2), ("20610", 1), ("J1885", 3)])
def test_each_mai_is_explained_as_cms_defines_it(tiny_store, code, mai):
    result = mue_facts(tiny_store, [code], units=[])
    finding = result.mue[0]
    assert finding.adjudication_indicator == mai
    meaning = finding.indicator_meaning.lower()
    assert all(words in meaning for words in CMS_MUE_ADJUDICATION_INDICATORS[mai]), meaning
    assert meaning in result.facts[0].text.lower()
    other = {1: "date of service", 2: "clinical", 3: "policy"}[mai]  # a line edit is no per-day limit, and so on
    assert other not in meaning


@pytest.mark.store
def test_units_asked_about_are_compared_with_the_mue(tiny_store):
    assert "12 units exceeds this MUE" in mue_facts(tiny_store, ["J1885"], units=[12]).facts[0].text
    assert "4 units is within this MUE" in mue_facts(tiny_store, ["J1885"], units=[4]).facts[0].text


@pytest.mark.store
def test_a_code_without_an_mue_says_so(tiny_store):
    result = mue_facts(tiny_store, ["J3301"], units=[])
    assert result.mue == []
    assert "J3301 has no published MUE" in result.facts[0].text and "(2026Q2)" in result.facts[0].text


# ---------------------------------------------------------------- modifiers and validity

@pytest.mark.store
def test_modifier_facts_from_the_guidance_and_the_hcpcs_file(tiny_store):
    facts = modifier_facts(tiny_store, ["XS", "59"])
    texts = [f.text for f in facts]
    assert any(t.startswith("Modifier XS (Separate structure)") for t in texts)
    assert any("Modifier XS in the HCPCS Level II file" in t for t in texts)
    assert any("Modifier 59" in t and "When to use: Only when no more specific modifier fits." in t for t in texts)
    assert any("NCCI: Bypasses PTP edits" in t for t in texts)


@pytest.mark.store
def test_check_code(tiny_store):
    assert check_code(tiny_store, "22514").status == "valid"
    deleted = check_code(tiny_store, "A4466")
    assert deleted.status == "deleted" and deleted.termination_date == 20161231
    assert check_code(tiny_store, "22519").status == "unknown"
    assert check_code(tiny_store, "XS").status == "unknown"  # a modifier is not a code


# ---------------------------------------------------------------- the real NCCI data

@pytest.mark.store
@pytest.mark.shared_data
def test_real_ptp_pair_and_mue(rag_service):
    store = rag_service.reference
    result = pair_facts(store, ["22514", "22511"])
    finding = result.ptp[0]
    assert (finding.column1, finding.column2, finding.modifier_indicator) == ("22511", "22514", 1)
    assert "the source lists no effective or deletion dates" in result.facts[0].text
    mue = mue_facts(store, ["J1885"], units=[])
    assert mue.mue[0].value == 8 and mue.mue[0].adjudication_indicator == 3


@pytest.mark.store
@pytest.mark.shared_data
def test_an_edit_pairing_an_em_with_a_procedure_names_25_on_the_em_never_59(rag_service):
    store = rag_service.reference
    result = pair_facts(store, ["99214", "20610"])
    finding = result.ptp[0]
    assert (finding.column1, finding.column2, finding.modifier_indicator) == ("20610", "99214", 1)
    rule = result.facts[1]
    assert rule.text.startswith("On the E/M, the modifier that bypasses this edit is 25 on 99214")
    assert "59 and XE, XP, XS, XU are not appended to an E/M" in rule.text
    assert rule.citation.values["code"] == "25"  # the modifier guidance row it rests on
    # two procedures: the table's own indicator sentence is the whole answer
    assert len(pair_facts(store, ["20610", "20611"]).facts) == 1


@pytest.mark.store
@pytest.mark.shared_data
def test_real_codes_known_only_to_ncci_are_valid(rag_service):
    # 0001A (a vaccine administration code) has PTP rows but no descriptor in the loaded files.
    check = check_code(rag_service.reference, "0001A")
    assert check.status == "valid"
