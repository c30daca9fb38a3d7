"""Generated real-data sets: reproducible with the fixed seed, and true to the files they come from."""

from __future__ import annotations

import random

import pytest

from eval.generate import description_items, mue_items, ptp_items
from eval.realdata import load_hcpcs_2020, load_icd10cm_fy2025, load_mue, load_ptp_index, ptp_lookup

pytestmark = [pytest.mark.unit, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def ptp_index(shared_data):
    return load_ptp_index(shared_data)


def test_ptp_items_are_reproducible_and_match_the_table(ptp_index):
    first = ptp_items(ptp_index, 40, random.Random("7:ptp"))
    again = ptp_items(ptp_index, 40, random.Random("7:ptp"))
    assert first == again and len(first) == 40
    facts = [item["expected_facts"][0] for item in first]
    for indicator in (0, 1, 9):
        assert f"modifier indicator {indicator}" in facts
    assert "no ncci ptp edit" in facts
    for item in first:
        a, b = item["expected_codes"]
        edits = ptp_lookup(ptp_index, a, b)
        if item["expected_facts"] == ["no ncci ptp edit"]:
            assert not edits
        else:
            assert item["expected_facts"][0] == f"modifier indicator {edits[0].modifier_indicator}"


def test_mue_items_match_the_table(shared_data, ptp_index):
    mue = load_mue(shared_data)
    items = mue_items(mue, ptp_index, 30, random.Random("7:mue"))
    assert items == mue_items(mue, ptp_index, 30, random.Random("7:mue"))
    for item in items:
        code = item["expected_codes"][0]
        if code in mue:
            assert item["expected_facts"] == [f"is {mue[code].value} unit", f"adjudication indicator {mue[code].mai}"]
        else:
            assert item["expected_facts"] == ["no published mue"]


def test_description_items_are_unambiguous(shared_data):
    hcpcs = load_hcpcs_2020(shared_data)
    items = description_items(hcpcs, 50, random.Random("7:h"), "ghcpcs", "hcpcs", "HCPCS")
    assert items == description_items(hcpcs, 50, random.Random("7:h"), "ghcpcs", "hcpcs", "HCPCS")
    titles = {}
    for row in hcpcs:
        titles.setdefault(row.title.lower(), set()).add(row.code)
    for item in items:
        assert titles[item["question"].lower()] == set(item["expected_codes"])
    icd = description_items(load_icd10cm_fy2025(shared_data), 20, random.Random("7:i"), "gicd", "icd10cm", "ICD10CM")
    assert all("." in i["expected_codes"][0] or len(i["expected_codes"][0]) == 3 for i in icd)
