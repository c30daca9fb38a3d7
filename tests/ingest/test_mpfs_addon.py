"""PPRRVU (fee schedule indicators) and NCCI add-on code edit loaders on the project's fixtures, written in CMS's
published layouts; the store's read methods, the typed findings and the claim check that use them."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.loaders.addon import load_addon
from ingest.loaders.mpfs import load_pprrvu
from ingest.records import IngestError, RowError
from rag.claims import ClaimChecker, ClaimLine
from rag.findings_mpfs import addon_facts, mpfs_facts, mpfs_finding
from rag.stores.reference import ReferenceStore
from rag.stores.schema import NO_DATE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PPRRVU = FIXTURES / "mpfs" / "PPRRVU26_JUL.csv"
AOC = FIXTURES / "addon" / "AOC_V2026Q3-MCR.csv"


def split(items):
    return [i for i in items if not isinstance(i, RowError)], [i for i in items if isinstance(i, RowError)]


@pytest.mark.unit
def test_pprrvu_reads_the_indicators_by_their_two_row_header():
    parsed = load_pprrvu(PPRRVU)
    assert (parsed.dataset, parsed.version) == ("mpfs", "2026Q3")  # RVU26_JUL / C release
    rows, errors = split(list(parsed))
    by_key = {(r.code, r.modifier): r for r in rows}
    hip = by_key[("27130", "")]
    assert (hip.global_days, hip.status, hip.pctc, hip.multiple_procedure, hip.bilateral, hip.assistant,
            hip.co_surgeon, hip.team) == ("090", "A", "0", "2", "1", "2", "1", "0")
    assert (hip.work_rvu, hip.facility_total_rvu, hip.nonfacility_total_rvu) == (19.60, 34.49, None)  # NA
    assert (hip.pre_op, hip.intra_op, hip.post_op, hip.conversion_factor) == (0.10, 0.80, 0.10, 33.4009)
    assert by_key[("64484", "")].global_days == "ZZZ"
    assert by_key[("71046", "26")].pctc == "1" and ("71046", "TC") in by_key
    assert by_key[("43239", "")].endoscopic_base == "43235"
    assert [(e.line, "27.30" in e.message) for e in errors[:1]] == [(15, True)]
    assert "global days '045'" in errors[1].message


@pytest.mark.unit
def test_pprrvu_keeps_cpt_descriptors_out_unless_licensed():
    rows, _ = split(list(load_pprrvu(PPRRVU)))
    descriptions = {r.code: r.description for r in rows}
    assert descriptions["27130"] == "" and descriptions["99213"] == ""  # CPT: AMA text, dropped
    assert descriptions["G0283"] == "Elec stim other than wound"  # HCPCS Level II: CMS text, kept
    licensed, _ = split(list(load_pprrvu(PPRRVU, keep_cpt_descriptions=True)))
    assert {r.code: r.description for r in licensed}["27130"] == "FIXTURE PLACEHOLDER A"


@pytest.mark.unit
def test_pprrvu_rejects_a_file_that_is_not_pprrvu(tmp_path):
    other = tmp_path / "PPRRVU26_JUL.csv"
    other.write_text("HCPCS,SOMETHING\n27130,1\n")
    with pytest.raises(IngestError, match="PPRRVU header lacks"):
        load_pprrvu(other)
    with pytest.raises(IngestError, match="cannot infer the release"):
        load_pprrvu(FIXTURES / "addon" / "AOC_V2026Q3-MCR.csv")


@pytest.mark.unit
def test_addon_file_reads_types_primaries_and_dates():
    parsed = load_addon(AOC)
    assert (parsed.dataset, parsed.version) == ("addon", "2026Q3")
    rows, errors = split(list(parsed))
    assert ("64484", "64483", 1) in {(r.addon, r.primary, r.edit_type) for r in rows}
    type2 = next(r for r in rows if r.addon == "99153")
    assert (type2.primary, type2.edit_type) == ("", 2)  # CCCCC: no primary listed
    ended = next(r for r in rows if r.primary == "22554")
    assert (ended.effective_date, ended.deletion_date) == (20110101, 20151231)
    assert next(r for r in rows if r.addon == "64484").deletion_date == NO_DATE
    assert [e.line for e in errors] == [7, 10, 11]


@pytest.mark.unit
def test_addon_file_is_read_from_the_cms_workbook_in_its_zip(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    with open(AOC, newline="") as handle:
        for row in csv.reader(handle):
            sheet.append([int(c) if c.isdigit() and len(c) == 8 else c for c in row])  # dates as numbers
    workbook = tmp_path / "AOC_V2026Q3-MCR.xlsx"
    book.save(workbook)
    archive = tmp_path / "add-code-edits-medicare-effective-07012026.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(workbook, workbook.name)
    parsed = load_addon(archive)
    assert parsed.version == "2026Q3"  # from the member's name
    rows, _ = split(list(parsed))
    assert ("64484", "64483", 1, 20110101) in {(r.addon, r.primary, r.edit_type, r.effective_date) for r in rows}


@pytest.fixture()
def loaded(tmp_path) -> ReferenceStore:
    # the fixtures hold deliberately malformed rows: a share CMS's files never reach (ingest's release limits)
    assert main(["--data-dir", str(tmp_path), "--max-rejected-share", "0.5", "mpfs", str(PPRRVU)]) == 0
    assert main(["--data-dir", str(tmp_path), "--max-rejected-share", "0.5", "addon", str(AOC)]) == 0
    return ReferenceStore(tmp_path)


@pytest.mark.store
def test_store_answers_global_period_and_addon_primaries(loaded):
    rows = loaded.mpfs("71046")
    assert [s.fact.modifier for s in rows] == ["", "26", "TC"]  # global service first
    assert rows[0].fact.description == ""  # no licensed CPT file loaded
    finding = mpfs_finding(loaded.mpfs("27130")[0])
    assert finding.global_days == "090" and "90 postoperative days" in finding.global_meaning
    fact = mpfs_facts(loaded, "27130")[0]
    assert "global period 090" in fact.text and fact.citation.source == "mpfs"
    assert fact.citation.version == "2026Q3" and fact.citation.locator == "row 6"
    assert [s.fact.addon for s in loaded.addons_of("64483")] == ["64484"]
    text = addon_facts(loaded, "64484", with_code="64479")[0].text
    assert "64483" in text and "not paid with 64479 alone" in text
    assert addon_facts(loaded, "27130") == []


@pytest.mark.store
def test_claim_check_flags_an_addon_without_its_primary(loaded):
    checker = ClaimChecker(loaded)
    alone = checker([ClaimLine(code="64484")])
    assert [(a.addon, a.primaries, a.severity) for a in alone.addons] == [("64484", ["64483"], "denied")]
    assert not alone.clean
    assert alone.addons[0].citation.source == "addon" and alone.addons[0].citation.marker >= 1
    with_primary = checker([ClaimLine(code="64483"), ClaimLine(code="64484")])
    assert with_primary.addons == []
    type3 = checker([ClaimLine(code="93571")])
    assert [a.severity for a in type3.addons] == ["review"]
    ended = checker([ClaimLine(code="22552"), ClaimLine(code="22554")])  # 22554's edit ended in 2015
    assert [a.primaries for a in ended.addons] == [["22551"]]


@pytest.mark.store
def test_code_page_section_lists_fee_schedule_rows_and_addon_links(loaded):
    from rag.findings_mpfs import code_page_fee_schedule

    primary = code_page_fee_schedule(loaded, "64483")
    assert [f.global_days for f in primary.fee_schedule] == ["000"] and primary.addons == ["64484"]
    addon = code_page_fee_schedule(loaded, "64484")
    assert [(e.primary, e.edit_type, e.active) for e in addon.addon_edits] == [("64483", 1, True)]
    assert code_page_fee_schedule(loaded, "22554").addons == []  # its only edit ended in 2015
