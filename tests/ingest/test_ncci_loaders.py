"""NCCI PTP and MUE loaders on the CMS layouts (real excerpts) and on malformed fixtures."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ingest.loaders.ncci import (
    load_mue,
    load_mue_derived_json,
    load_ptp_derived_json,
    load_ptp_txt,
)
from ingest.records import IngestError, RowError
from rag.stores.schema import NO_DATE, MueLimit, PtpEdit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ncci"
EXCERPTS = "ncci_hcpcs_raw_format_excerpts_2026q3"


def split(items):
    records = [i for i in items if not isinstance(i, RowError)]
    errors = [i for i in items if isinstance(i, RowError)]
    return records, errors


@pytest.mark.unit
@pytest.mark.shared_data
def test_ptp_txt_excerpt_reads_every_row_with_dates_and_indicators(shared_data):
    parsed = load_ptp_txt(shared_data / EXCERPTS / "ccipra-v322r0-f1.excerpt.txt", "2026Q3")
    assert parsed.dataset == "ptp_practitioner"
    records, errors = split(list(parsed))
    assert errors == []
    assert len(records) == 154
    first = records[0]
    assert (first.column1, first.column2, first.effective_date, first.deletion_date) == ("0001A", "0591T",
                                                                                        20220101, 20231231)
    assert {r.modifier_indicator for r in records} == {0, 1, 9}
    assert first.row == 7  # line number in the file, after the six header lines


@pytest.mark.unit
def test_ptp_txt_malformed_rows_are_reported_with_their_line():
    records, errors = split(list(load_ptp_txt(FIXTURES / "ptp_malformed.txt", "test")))
    assert [(r.column1, r.column2) for r in records] == [("22511", "22514"), ("22511", "22510"),
                                                         ("99213", "36415"), ("0001A", "90473")]
    assert records[0].deletion_date == NO_DATE and not records[0].deleted
    assert records[1].deletion_date == 20201231 and records[1].deleted
    assert records[2].prior_1996 is True
    assert records[3].modifier_indicator == 9
    lines = {e.line: e.message for e in errors}
    assert set(lines) == {10, 11, 12, 13}
    assert "not a HCPCS/CPT code pair" in lines[10]
    assert "effective date" in lines[11]
    assert "modifier indicator '7'" in lines[12]
    assert "expected 7" in lines[13]
    assert all(e.file.endswith("ptp_malformed.txt") for e in errors)


@pytest.mark.unit
def test_a_file_that_is_not_a_ptp_table_is_rejected_naming_the_file():
    with pytest.raises(IngestError, match="not_ptp.txt.*no PTP data rows"):
        list(load_ptp_txt(FIXTURES / "not_ptp.txt", "test"))
    with pytest.raises(IngestError, match="file not found"):
        list(load_ptp_txt(FIXTURES / "missing.txt", "test"))


@pytest.mark.unit
def test_ptp_zip_of_several_parts_is_one_release(tmp_path):
    import zipfile

    text = (FIXTURES / "ptp_malformed.txt").read_bytes()
    archive = tmp_path / "ccioph-v999r0.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ccioph-v999r0-f1.txt", text)
        z.writestr("ccioph-v999r0-f2.txt", text)
        z.writestr("readme.pdf", b"%PDF")
    parsed = load_ptp_txt(archive, "2099Q1")
    records, errors = split(list(parsed))
    assert parsed.dataset == "ptp_hospital"
    assert len(records) == 8 and len(errors) == 8
    assert errors[0].file.endswith("!ccioph-v999r0-f1.txt")


@pytest.mark.unit
@pytest.mark.shared_data
def test_mue_csv_excerpt_skips_the_notice_and_reads_the_table(shared_data):
    parsed = load_mue(shared_data / EXCERPTS / "MCR_MUE_PractitionerServices_Eff_07-01-2026.excerpt.csv", "2026Q3")
    records, errors = split(list(parsed))
    assert parsed.dataset == "mue_practitioner"
    assert errors == [] and len(records) == 44
    assert records[0] == MueLimit("0001U", 1, 2, "Code Descriptor / CPT Instruction", records[0].row)
    assert {r.adjudication_indicator for r in records} <= {1, 2, 3}


@pytest.mark.unit
def test_mue_malformed_rows_are_counted_not_loaded():
    records, errors = split(list(load_mue(FIXTURES / "mue_malformed.csv", "test", "mue_dme")))
    assert [(r.code, r.value, r.adjudication_indicator) for r in records] == [("J1885", 8, 3), ("22514", 1, 2)]
    messages = [e.message for e in errors]
    assert len(errors) == 3
    assert "MUE value 'one'" in messages[0]
    assert "not a HCPCS/CPT code" in messages[1]
    assert "adjudication indicator" in messages[2]


@pytest.mark.unit
def test_mue_xlsx_layout_is_read(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["CPT codes and descriptions only are copyright 2025 American Medical Association."])
    sheet.append(["HCPCS/CPT Code", "Outpatient Hospital Services MUE Values", "MUE Adjudication Indicator",
                  "MUE Rationale"])
    sheet.append(["J1885", 8, "3 Date of Service Edit: Clinical", "Prescribing Information"])
    sheet.append(["E0601", 1, "1 Line Edit", "Nature of Equipment"])
    path = tmp_path / "MCR_MUE_OutpatientHospital_Eff_2099.xlsx"
    book.save(path)
    parsed = load_mue(path, "2099Q1")
    records, errors = split(list(parsed))
    assert parsed.dataset == "mue_hospital" and errors == []
    assert [(r.code, r.value, r.adjudication_indicator) for r in records] == [("J1885", 8, 3), ("E0601", 1, 1)]


@pytest.mark.unit
def test_derived_json_forms(tmp_path):
    ptp = tmp_path / "ptp-00.json.gz"
    with gzip.open(ptp, "wt") as handle:
        json.dump([["22511", [["22514", 1, "Mutually exclusive procedures"], ["22510", 0, "Misuse"]]],
                   "garbage"], handle)
    records, errors = split(list(load_ptp_derived_json([ptp], "2099Q1")))
    assert records[0] == PtpEdit("22511", "22514", False, 0, NO_DATE, 1, "Mutually exclusive procedures", 1)
    assert len(records) == 2 and len(errors) == 1
    mue = tmp_path / "mue.json.gz"
    with gzip.open(mue, "wt") as handle:
        json.dump([["J1885", 8, 3, "Prescribing Information"], ["J1885", "x", 3, "bad"]], handle)
    records, errors = split(list(load_mue_derived_json(mue, "2099Q1")))
    assert records[0].value == 8 and len(errors) == 1
    not_json = tmp_path / "ptp-01.json.gz"
    not_json.write_bytes(b"plain text")
    with pytest.raises(IngestError, match="ptp-01.json.gz"):
        list(load_ptp_derived_json([not_json], "x"))


@pytest.mark.unit
def test_mue_rows_are_numbered_by_the_line_they_start_on_like_every_loader(tmp_path):
    path = tmp_path / "MCR_MUE_PractitionerServices_multiline.csv"
    path.write_text('"HCPCS/CPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n'
                    'J1885,8,3 Date of Service Edit: Clinical,"Prescribing\nInformation"\n'
                    "22514,1,2 Date of Service Edit: Policy,Anatomic Consideration\n")
    records, errors = split(list(load_mue(path, "2099Q1")))
    assert errors == [] and [(r.code, r.row) for r in records] == [("J1885", 2), ("22514", 4)]

