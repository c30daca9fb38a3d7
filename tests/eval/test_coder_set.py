"""The coder question set (eval/sets/coder.jsonl): its spread, its schema, and that every expected code and fact
is true in the project's reference data (ICD-10-CM package, HCPCS 2020, CPT corpus, deleted-codes table, NCCI)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from rag.codes import codes_in

from eval.data import CODER_INTENTS, optional_field_errors
from eval.runner import read_items
from rag.drugs import Dose, load_drug_table, parse_dose, units_for

REPO = Path(__file__).resolve().parents[2]
SET = REPO / "eval" / "sets" / "coder.jsonl"
SHARED = REPO.parent / "shared" / "data"
HCPCS_2020 = SHARED / "hcpcs_level2_2020_cms" / "HCPC2020_ANWEB.csv"
ICD_FY2026_LIST = SHARED / "icd10cm_fy2026_cdc" / "code-list-April-2026.txt"
ICD = re.compile(r"^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$")
HCPCS = re.compile(r"^[A-V]\d{4}$")
CPT = re.compile(r"^\d{4}[0-9FT]$")
MINIMUM = {"which_code_icd10cm": 60, "which_code_hcpcs": 40, "which_code_cpt": 30, "pair_check": 20, "units": 20,
           "deleted_code": 15, "modifier": 10, "coverage": 10, "out_of_scope": 10, "follow_up": 10}


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return read_items(SET)


@pytest.fixture(scope="module")
def ptp_index() -> dict | None:
    """The practitioner PTP pairs (read once: two million rows), or None without ../shared/data."""
    if not SHARED.is_dir():
        return None
    from eval.realdata import load_ptp_index

    return load_ptp_index(SHARED)


def _codes(item: dict) -> list[str]:
    return list(dict.fromkeys(item["expected_codes"] + ([item["expect_first_code"]]
                                                         if item.get("expect_first_code") else [])))


def _cpt_reference() -> tuple[set[str], dict[str, list[str]]]:
    corpus = {json.loads(line)["code"] for path in (REPO / "corpora" / "cpt").glob("*.jsonl")
              for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    with open(REPO / "corpora" / "cpt" / "deleted_codes.csv", encoding="utf-8", newline="") as handle:
        deleted = {row["code"]: row["replacement_codes"].split() for row in csv.DictReader(handle)}
    return corpus, deleted


@pytest.mark.unit
def test_the_set_is_large_spread_over_coder_intents_and_well_formed(items):
    assert len(items) >= 220
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    counts = Counter(item["coder_intent"] for item in items)
    for intent, minimum in MINIMUM.items():
        assert counts[intent] >= minimum, (intent, counts[intent])
    assert counts["guideline"] + counts["compliance"] >= 15
    assert set(counts) <= set(CODER_INTENTS)
    for item in items:
        assert optional_field_errors(item) == [], (item["id"], optional_field_errors(item))
        if item["coder_intent"] == "out_of_scope":
            assert item["intent"] == "refuse" and item["must_abstain"]
            # an injected instruction around a code changes nothing: the code is checked (and not found) instead
            assert item.get("expect_refusal") is True or codes_in(item["question"]), item["id"]
        if item["coder_intent"] == "follow_up" and not item.get("expect_clarification"):
            assert item["history"], item["id"]
        if item["coder_intent"] not in ("out_of_scope", "guideline", "compliance", "coverage") \
                and not item.get("expect_clarification"):
            assert item.get("expect_first_code"), item["id"]
    questions = " ".join(item["question"] for item in items)
    for typed in ("w/", "w/o", "dx", "bilat", "pt ", "toradal", "rocefin", "solumedrol", "ignore previous"):
        assert typed in questions.lower(), typed  # abbreviations, typos and injections the way coders type


@pytest.mark.unit
def test_every_icd10cm_code_is_a_billable_leaf(items):
    import simple_icd_10_cm as cm

    found = 0
    for item in items:
        for code in _codes(item):
            if ICD.match(code) and not HCPCS.match(code):
                assert cm.is_valid_item(code), (item["id"], code)
                assert cm.is_leaf(code), f"{item['id']}: {code} is a category or header, not a billable code"
                found += 1
    assert found >= 60


@pytest.mark.unit
@pytest.mark.shared_data
def test_every_icd10cm_code_is_in_the_fy2026_code_list(items):
    if not ICD_FY2026_LIST.is_file():
        pytest.skip(f"{ICD_FY2026_LIST} is absent")
    listed = set(ICD_FY2026_LIST.read_text(encoding="utf-8").split())
    for item in items:
        for code in _codes(item):
            if ICD.match(code) and not HCPCS.match(code):
                assert code.replace(".", "") in listed, (item["id"], code)


@pytest.mark.unit
@pytest.mark.shared_data
def test_every_hcpcs_code_is_active_in_the_hcpcs_2020_file(items):
    if not HCPCS_2020.is_file():
        pytest.skip(f"{HCPCS_2020} is absent: the HCPCS 2020 file lives only in ../shared/data")
    with open(HCPCS_2020, encoding="latin-1", newline="") as handle:
        rows = {row["HCPC"].strip(): row for row in csv.DictReader(handle)}
    found = 0
    for item in items:
        for code in _codes(item):
            if HCPCS.match(code):
                assert code in rows, (item["id"], code)
                assert not rows[code]["TERM DT"].strip(), (item["id"], code, "terminated")
                found += 1
    assert found >= 40


@pytest.mark.unit
@pytest.mark.shared_data
def test_every_cpt_code_is_in_the_corpus_or_the_deleted_codes_table(items, ptp_index):
    corpus, deleted = _cpt_reference()
    replacements = {c for codes in deleted.values() for c in codes}
    ncci_only = []
    for item in items:
        for code in _codes(item):
            if CPT.match(code) and code not in corpus | set(deleted) | replacements:
                ncci_only.append((item, code))
    # pair questions may name codes the plain-language corpus does not describe: they must be NCCI codes
    assert all(item["coder_intent"] == "pair_check" for item, _ in ncci_only), ncci_only
    if ncci_only and ptp_index is not None:
        listed = set(ptp_index) | {c for partners in ptp_index.values() for c in partners}
        assert all(code in listed for _, code in ncci_only), ncci_only


@pytest.mark.unit
def test_deleted_code_items_agree_with_the_deleted_codes_table(items):
    corpus, deleted = _cpt_reference()
    status = [item for item in items if item.get("expect_status")]
    assert sum(item["expect_status"] == "deleted" for item in status) >= 15
    for item in status:
        code = item["expect_first_code"]
        if item["expect_status"] == "deleted":
            assert code in deleted, code
            replacement = [c for c in item["expected_codes"] if c != code]
            assert replacement and set(replacement) <= set(deleted[code]), (code, replacement, deleted[code])
            assert "deleted" in item["expected_facts"]
        else:
            assert code in corpus and code not in deleted, code


@pytest.mark.unit
def test_unit_answers_follow_from_the_drug_table(items):
    table = load_drug_table()
    checked = 0
    for item in items:
        code = item.get("expect_first_code", "")
        unit_fact = next((f for f in item["expected_facts"] if re.fullmatch(r"\d+ units?", f)), None)
        dose = parse_dose(item["question"]) or parse_dose(" ".join(t["content"] for t in item.get("history", [])))
        if item["intent"] != "units" or not HCPCS.match(code) or unit_fact is None or dose is None:
            continue
        expected = int(unit_fact.split()[0])
        if dose.unit == "units" and table.by_code(code)[0].per_unit != "units":
            continue
        assert units_for(dose, table.by_code(code)[0]) == expected, (item["id"], dose, expected)
        checked += 1
    assert checked >= 12
    assert units_for(Dose(125, "mg"), table.by_code("J2930")[0]) == 1


@pytest.mark.unit
@pytest.mark.shared_data
def test_pair_and_mue_facts_match_the_ncci_tables(items, ptp_index):
    if ptp_index is None:
        pytest.skip(f"{SHARED} is absent")
    from eval.realdata import load_mue, ptp_lookup

    index, mue = ptp_index, load_mue(SHARED)
    for item in items:
        if item["intent"] == "pair_check" and len(item["expected_codes"]) == 2 and item["expected_facts"]:
            edits = ptp_lookup(index, *item["expected_codes"])
            if item["expected_facts"] == ["no ncci ptp edit"]:
                assert not edits, item["id"]
            else:
                assert edits, item["id"]
                assert item["expected_facts"][0] == f"modifier indicator {edits[0].modifier_indicator}", item["id"]
        for fact in item["expected_facts"]:
            limit = re.fullmatch(r"is (\d+) unit", fact)
            if limit and item["intent"] == "units":
                code = item["expect_first_code"]
                assert code in mue and mue[code].value == int(limit.group(1)), (item["id"], code)
