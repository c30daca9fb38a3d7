"""Claim checks (rag/claims.py) on the tiny hand-made store of tests/rag/conftest.py: each NCCI rule line by line.

The tiny practitioner PTP table holds 22511/22514 (indicator 1, effective 2016-01-01), 22513/22514 (indicator 0),
20610/J3301 (indicator 1, deleted 2019-12-31) and 20610/J1885 (indicator 9); its MUEs are J1885 8 (MAI 3),
22514 1 (MAI 2) and 20610 2 (MAI 1); A4466 was terminated on 2016-12-31.
"""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from rag.claims import MAX_LINES, ClaimChecker, ClaimLine

pytestmark = pytest.mark.store

TODAY = date(2026, 6, 1)


class Rows:
    """The row numbers the store holds for a PTP pair or an MUE: what a citation must point at."""

    def __init__(self, store):
        self.store = store

    def ptp(self, code_a: str, code_b: str) -> int:
        (sourced,) = self.store.ptp_pair(code_a, code_b, dataset="ptp_practitioner")
        return sourced.fact.row

    def mue(self, code: str) -> int:
        (sourced,) = self.store.mue(code, "mue_practitioner")
        return sourced.fact.row


@pytest.fixture(scope="module")
def rows(tiny_store) -> Rows:
    return Rows(tiny_store)


@pytest.fixture(scope="module")
def check(tiny_store):
    checker = ClaimChecker(tiny_store)

    def run(*lines: dict, today: date = TODAY):
        return checker([ClaimLine(**line) for line in lines], today=today)

    return run


def only_conflict(result):
    assert len(result.ptp) == 1, result.ptp
    return result.ptp[0]


# ---------------------------------------------------------------- NCCI PTP

def test_indicator_1_is_denied_without_a_modifier_and_bypassed_by_one_on_the_column_2_line(check, rows):
    denied = only_conflict(check({"code": "22511"}, {"code": "22514"}))
    assert (denied.outcome, denied.column1_line, denied.column2_line) == ("denied", 0, 1)
    assert denied.citation.locator == f"row {rows.ptp('22511', '22514')}"
    bypassed = check({"code": "22511"}, {"code": "22514", "modifiers": ["59"]})
    assert only_conflict(bypassed).outcome == "bypassed" and only_conflict(bypassed).bypassed_by == "59"
    assert bypassed.clean


@pytest.mark.parametrize("modifier", ["59", "XS", "XU", "25", "LT"])
def test_indicator_0_is_denied_even_with_an_ncci_associated_modifier(check, rows, modifier):
    result = check({"code": "22513", "modifiers": [modifier]}, {"code": "22514", "modifiers": [modifier]})
    conflict = only_conflict(result)
    assert conflict.edit.modifier_indicator == 0
    assert conflict.outcome == "denied" and conflict.bypassed_by is None
    assert (conflict.column1_line, conflict.column2_line) == (0, 1)
    assert conflict.citation.locator == f"row {rows.ptp('22513', '22514')}"
    assert not result.clean


def test_indicator_9_does_not_apply(check):
    result = check({"code": "20610"}, {"code": "J1885"}, today=date(2017, 4, 1))  # the edit's only day
    conflict = only_conflict(result)
    assert conflict.edit.modifier_indicator == 9
    assert conflict.outcome == "not_applicable" and conflict.bypassed_by is None
    assert "deleted retroactively" in conflict.explanation
    assert result.clean  # a not-applicable edit denies nothing; 1 unit each is within both MUEs


@pytest.mark.parametrize("service_date, outcome", [
    (date(2019, 12, 30), "denied"),
    (date(2019, 12, 31), "denied"),          # the deletion date is the edit's last day in force
    (date(2020, 1, 1), "not_applicable"),
])
def test_an_edit_deleted_before_the_date_of_service_does_not_apply(check, service_date, outcome):
    lines = ({"code": "20610", "date_of_service": service_date}, {"code": "J3301", "date_of_service": service_date})
    conflict = only_conflict(check(*lines))
    assert conflict.outcome == outcome
    assert conflict.edit.active == (outcome == "denied")


@pytest.mark.parametrize("service_date, outcome", [(date(2015, 12, 31), "not_applicable"),
                                                   (date(2016, 1, 1), "denied")])
def test_an_edit_not_yet_effective_on_the_date_of_service_does_not_apply(check, service_date, outcome):
    lines = ({"code": "22511", "date_of_service": service_date}, {"code": "22514", "date_of_service": service_date})
    conflict = only_conflict(check(*lines))
    assert conflict.outcome == outcome
    if outcome == "not_applicable":
        assert "not in force on 2015-12-31" in conflict.explanation


# ---------------------------------------------------------------- MUE

def test_mai_1_counts_each_line_on_its_own(check, rows):
    # 20610: MUE 2, MAI 1 (claim line edit). Two lines of 2 units (4 in all) pass; one line of 3 does not.
    split = check({"code": "20610", "units": 2}, {"code": "20610", "units": 2})
    assert split.mue == [] and split.clean
    one_line = check({"code": "20610", "units": 1}, {"code": "20610", "units": 3})
    assert len(one_line.mue) == 1
    excess = one_line.mue[0]
    assert (excess.lines, excess.units, excess.limit, excess.excess) == ([1], 3, 2, 1)
    assert excess.mue.adjudication_indicator == 1
    assert excess.citation.locator == f"row {rows.mue('20610')}"


@pytest.mark.parametrize("code, limit, mai", [("J1885", 8, 3), ("22514", 1, 2)])
def test_mai_2_and_3_add_up_the_units_of_one_date_across_lines(check, rows, code, limit, mai):
    units = limit // 2 + 1  # each line within the MUE, the two together above it
    result = check({"code": code, "units": units}, {"code": code, "units": units})
    assert len(result.mue) == 1
    excess = result.mue[0]
    assert excess.mue.adjudication_indicator == mai
    assert (excess.lines, excess.units, excess.limit, excess.excess) == ([0, 1], 2 * units, limit,
                                                                        2 * units - limit)
    assert excess.date_of_service == TODAY
    assert excess.citation.locator == f"row {rows.mue(code)}"
    assert not result.clean


def test_mai_3_lines_on_different_dates_are_not_added_up(check):
    result = check({"code": "J1885", "units": 5, "date_of_service": date(2026, 5, 1)},
                   {"code": "J1885", "units": 5, "date_of_service": date(2026, 5, 2)})
    assert result.mue == [] and result.clean


# ---------------------------------------------------------------- codes and modifiers

@pytest.mark.parametrize("service_date", [date(2016, 12, 31), date(2017, 1, 1)])
def test_a_code_terminated_on_or_before_the_date_of_service_is_reported(check, service_date):
    result = check({"code": "A4466", "date_of_service": service_date})
    assert len(result.codes) == 1
    problem = result.codes[0]
    assert (problem.line, problem.code, problem.kind, problem.status) == (0, "A4466", "code", "deleted")
    assert problem.check.termination_date == 20161231
    assert "terminated on 2016-12-31" in problem.explanation
    assert problem.citation.source == "hcpcs" and problem.citation.locator == "row 13"
    assert not result.clean


def test_a_code_used_before_its_termination_date_is_clean(check):
    result = check({"code": "A4466", "date_of_service": date(2016, 12, 30)})
    assert result.codes == [] and result.clean
    assert result.checked[0].status == "deleted"  # deleted today, but not on that date of service


def test_an_unknown_code_is_reported_and_skipped_by_the_ncci_checks(check):
    result = check({"code": "22519"}, {"code": "22514"})
    assert [(p.code, p.status) for p in result.codes] == [("22519", "unknown")]
    assert result.ptp == [] and not result.clean


def test_an_unknown_modifier_is_reported_and_known_ones_are_not(check, tiny_store):
    # the premise: XU is known as an NCCI-associated modifier only; the loaded modifier list holds XS and 59
    assert not [s for s in tiny_store.lookup_code("XU") if s.fact.code_set == "MODIFIER"]
    result = check({"code": "22511"}, {"code": "22514", "modifiers": ["0Z", "XS", "59", "XU"]})
    problems = [(p.line, p.code, p.kind, p.status) for p in result.codes]
    assert problems == [(1, "0Z", "modifier", "unknown")]
    assert "0Z" in result.codes[0].explanation
    assert only_conflict(result).bypassed_by == "XS"  # an unknown modifier bypasses nothing; XS does


# ---------------------------------------------------------------- the setting's tables

def test_the_hospital_setting_checks_its_own_table_and_is_never_clean_without_its_mue_table(tiny_store):
    # the premise: the tiny store holds a hospital PTP table (22511/22514 with indicator 0 there, 1 for
    # practitioners) and no hospital MUE table
    assert {"ptp_hospital", "ptp_practitioner", "mue_practitioner"} <= set(tiny_store.releases())
    assert "mue_hospital" not in tiny_store.releases()
    checker = ClaimChecker(tiny_store)
    lines = [ClaimLine(code="22511"), ClaimLine(code="22514", modifiers=["59"])]
    practitioner = checker(lines, "practitioner", today=TODAY)
    assert only_conflict(practitioner).outcome == "bypassed" and practitioner.unchecked == [] and practitioner.clean
    hospital = checker(lines, "hospital", today=TODAY)
    conflict = only_conflict(hospital)
    assert (conflict.edit.modifier_indicator, conflict.outcome, conflict.citation.source) == (0, "denied",
                                                                                             "ptp_hospital")
    assert conflict.citation.locator == "row 7"
    assert hospital.unchecked == ["mue_hospital"] and hospital.clean is False
    # one unit of 22514 is within every MUE: the claim is not clean only because a table was not checked
    alone = checker([ClaimLine(code="22514")], "hospital", today=TODAY)
    assert alone.ptp == [] and alone.mue == [] and alone.codes == []
    assert alone.unchecked == ["mue_hospital"] and alone.clean is False
    assert any("not loaded" in note and "not checked" in note for note in alone.notes)


# ---------------------------------------------------------------- the line limit

@pytest.mark.unit
def test_a_claim_holds_at_most_max_lines_lines():
    from api.models import ClaimCheckRequest

    line = {"code": "22514"}
    assert len(ClaimCheckRequest(lines=[line] * MAX_LINES).lines) == MAX_LINES
    with pytest.raises(ValidationError, match=f"at most {MAX_LINES} items"):
        ClaimCheckRequest(lines=[line] * (MAX_LINES + 1))
    with pytest.raises(ValidationError):
        ClaimCheckRequest(lines=[])
