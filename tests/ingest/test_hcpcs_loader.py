"""HCPCS Level II loader: the real CMS files in ../shared/data, and malformed fixtures written for the project."""

from __future__ import annotations

import re
import zipfile
from itertools import pairwise
from pathlib import Path

import pytest

from ingest.loaders.hcpcs import FIXED_WIDTH, infer_version, load_hcpcs
from ingest.records import IngestError, RowError
from rag.stores.schema import CodeRecord

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hcpcs"
ZIP_2020 = "hcpcs_level2_2020_cms/2020-Alpha-Numeric-HCPCS-File.zip"
CSV_2020 = "hcpcs_level2_2020_cms/HCPC2020_ANWEB.csv"
ZIP_2019 = "hcpcs_level2_2019_cms/2019-Alpha-Numeric-HCPCS-File.zip"
EXCERPT_2026 = "ncci_hcpcs_raw_format_excerpts_2026q3/HCPC2026_OCT_ANWEB.excerpt.csv"


def split(parsed) -> tuple[dict[tuple[str, str], CodeRecord], list[RowError]]:
    items = list(parsed)
    records = {(i.code_set, i.code): i for i in items if isinstance(i, CodeRecord)}
    assert len(records) == sum(isinstance(i, CodeRecord) for i in items), "a code was emitted twice"
    return records, [i for i in items if isinstance(i, RowError)]


@pytest.fixture(scope="module")
def hcpcs_2020(shared_data):
    parsed = load_hcpcs(shared_data / ZIP_2020)
    records, errors = split(parsed)
    return parsed, records, errors


# ------------------------------------------------------------------ the real 2020 annual file

@pytest.mark.unit
@pytest.mark.shared_data
def test_2020_zip_reads_the_fixed_width_txt_with_every_code_and_modifier(hcpcs_2020):
    parsed, records, errors = hcpcs_2020
    assert (parsed.dataset, parsed.version) == ("hcpcs", "2020")
    assert errors == []
    procedures = [k for k in records if k[0] == "HCPCS"]
    modifiers = [k for k in records if k[0] == "MODIFIER"]
    # The CMS README's 7,080 rows are 7,079 codes plus one continuation row (G0503) in the spreadsheet copy.
    assert len(procedures) == 6_710
    assert len(modifiers) == 369
    assert {"XE", "XP", "XS", "XU", "LT", "RT", "GA", "GY", "GZ", "JW", "KX"} <= {code for _, code in modifiers}
    assert ("MODIFIER", "JZ") not in records  # added in 2023
    assert ("MODIFIER", "59") not in records  # CPT modifiers are not in the HCPCS file
    assert len(parsed.source_sha256) == 64


@pytest.mark.unit
@pytest.mark.shared_data
def test_2020_j1885_fields(hcpcs_2020):
    _, records, _ = hcpcs_2020
    j1885 = records[("HCPCS", "J1885")]
    assert j1885.long_description == "Injection, ketorolac tromethamine, per 15 mg"
    assert j1885.short_description == "Ketorolac tromethamine inj"
    assert (j1885.effective_date, j1885.termination_date) == (19970101, None)
    assert j1885.row == 7810  # line in HCPC2020_ANWEB_w_disclaimer.txt, after nine disclaimer lines
    attributes = j1885.attributes
    assert attributes["coverage_code"] == "D"
    assert attributes["coverage"] == "special coverage instructions apply"
    assert attributes["betos"] == "O1E"
    assert attributes["tos"] == ["1", "P"]
    assert attributes["pricing_indicators"] == ["51"]
    assert attributes["multiple_pricing"] == "A"
    assert attributes["add_date"] == 19930101
    assert attributes["action_code"] == "N"
    assert attributes["origin"] == "CMS HCPCS Level II"
    assert "asc_group" not in attributes  # empty fields are left out


@pytest.mark.unit
@pytest.mark.shared_data
def test_2020_continuation_lines_join_into_the_long_description(hcpcs_2020):
    _, records, _ = hcpcs_2020
    g0438 = records[("HCPCS", "G0438")]
    assert g0438.long_description == ("Annual wellness visit; includes a personalized prevention plan of service "
                                      "(pps), initial visit")
    assert g0438.short_description == "Ppps, initial visit"
    assert g0438.attributes["betos"] == "M5D"
    assert g0438.effective_date == 20110101
    g0503 = records[("HCPCS", "G0503")]  # one first line and sixteen continuation lines
    assert g0503.long_description.startswith("Subsequent psychiatric collaborative care management, first 60 "
                                             "minutes in a subsequent month")
    assert g0503.long_description.endswith("are prepared for discharge from active treatment")
    assert len(g0503.long_description) > 16 * 60
    assert g0503.termination_date == 20171231
    assert g0503.attributes["cross_reference"] == ["99493"]
    jw = records[("MODIFIER", "JW")]
    assert jw.long_description == "Drug amount discarded/not administered to any patient"
    assert jw.code_set == "MODIFIER"


@pytest.mark.unit
@pytest.mark.shared_data
def test_fixed_width_positions_agree_with_the_cms_spreadsheet_copy(hcpcs_2020, shared_data):
    """Every field read from the 320-column TXT equals the same field in the CSV made from CMS's .xls."""
    _, from_txt, _ = hcpcs_2020
    from_csv, errors = split(load_hcpcs(shared_data / CSV_2020))
    assert errors == []
    assert from_csv.keys() == from_txt.keys()

    def spaces(text: str) -> str:  # the .xls keeps some double spaces the 80-column TXT wrap drops
        return re.sub(r"\s+", " ", text)

    for key, txt in from_txt.items():
        csv = from_csv[key]
        assert (txt.short_description, txt.effective_date, txt.termination_date, txt.attributes) == \
               (csv.short_description, csv.effective_date, csv.termination_date, csv.attributes), key
        assert spaces(txt.long_description) == spaces(csv.long_description), key


@pytest.mark.store
@pytest.mark.shared_data
def test_2020_release_written_to_a_store_answers_j1885(tmp_path, shared_data):
    from ingest.write_reference import write_release
    from rag.stores.reference import ReferenceStore

    report = write_release(tmp_path, load_hcpcs(shared_data / ZIP_2020))
    assert (report.rows, report.rejected) == (6_710 + 369, 0)
    store = ReferenceStore(tmp_path)
    try:
        found = store.lookup_code("J1885")
        assert len(found) == 1
        fact = found[0].fact
        assert fact.long_description == "Injection, ketorolac tromethamine, per 15 mg"
        assert fact.attributes["betos"] == "O1E"
        assert fact.termination_date is None
        assert (found[0].release.dataset, found[0].release.version) == ("hcpcs", "2020")
    finally:
        store.close()


# ------------------------------------------------------------------ other real layouts

@pytest.mark.unit
@pytest.mark.shared_data
def test_2026_excerpt_csv_with_leading_spaces_in_the_code(shared_data):
    parsed = load_hcpcs(shared_data / EXCERPT_2026, lay_terms=None)  # modifiers only: no lay-term codes
    records, errors = split(parsed)
    assert parsed.version == "2026-10"
    assert errors == []
    assert len(records) == 35
    assert {k[0] for k in records} == {"MODIFIER"}
    assert {"A1", "AW", "CP", "GD", "JF", "JG", "L1"} <= {code for _, code in records}
    a1 = records[("MODIFIER", "A1")]
    assert a1.long_description == "Dressing for one wound"
    assert a1.row == 2


@pytest.mark.unit
@pytest.mark.shared_data
def test_2019_zip_txt_after_tab_filled_disclaimers(shared_data):
    parsed = load_hcpcs(shared_data / ZIP_2019, lay_terms=None)  # lacks codes new in 2020
    records, errors = split(parsed)
    assert parsed.version == "2019"
    assert errors == []
    assert sum(k[0] == "HCPCS" for k in records) == 6_440
    assert sum(k[0] == "MODIFIER" for k in records) == 360
    assert records[("HCPCS", "J1885")].short_description == "Ketorolac tromethamine inj"


@pytest.mark.unit
@pytest.mark.shared_data
def test_xlsx_with_the_anweb_header_reads_like_the_txt(shared_data, tmp_path):
    with zipfile.ZipFile(shared_data / ZIP_2019) as archive:
        archive.extract("HCPC2019_CONTR_ANWEB.xlsx", tmp_path)  # into tmp only: never into the repository
    from_xlsx, errors = split(load_hcpcs(tmp_path / "HCPC2019_CONTR_ANWEB.xlsx", lay_terms=None))
    from_txt, _ = split(load_hcpcs(shared_data / ZIP_2019, lay_terms=None))
    assert errors == []
    assert from_xlsx.keys() == from_txt.keys()
    j1885 = from_xlsx[("HCPCS", "J1885")]
    assert j1885.long_description == "Injection, ketorolac tromethamine, per 15 mg"
    assert j1885.attributes == from_txt[("HCPCS", "J1885")].attributes
    assert j1885.row == 3979  # the worksheet row


@pytest.mark.unit
@pytest.mark.shared_data
def test_other_cms_files_are_rejected_naming_the_file(shared_data):
    mue = shared_data / "ncci_hcpcs_raw_format_excerpts_2026q3/MCR_MUE_PractitionerServices_Eff_07-01-2026.excerpt.csv"
    with pytest.raises(IngestError, match="not a CMS HCPCS ANWEB file") as error:
        load_hcpcs(mue, "2026")
    assert error.value.file == str(mue)
    ptp = shared_data / "ncci_hcpcs_raw_format_excerpts_2026q3/ccipra-v322r0-f1.excerpt.txt"
    with pytest.raises(IngestError, match="not a CMS HCPCS ANWEB file") as error:
        load_hcpcs(ptp, "2026")
    assert error.value.file == str(ptp) and error.value.line == 50
    layout = shared_data / "hcpcs_level2_2019_cms/2019-HCPCS-Record-Layout.zip"
    with pytest.raises(IngestError, match="no HCPCS ANWEB file.*HCPCS2019_recordlayout.txt") as error:
        load_hcpcs(layout)
    assert error.value.file == str(layout)


# ------------------------------------------------------------------ malformed fixtures

@pytest.mark.unit
def test_malformed_csv_rows_become_row_errors_with_their_lines():
    path = FIXTURES / "HCPC2099_JAN_ANWEB_malformed.csv"
    parsed = load_hcpcs(path, lay_terms=None)  # invented codes: the lay-term table names none of them
    assert parsed.version == "2099-01"
    records, errors = split(parsed)
    assert sorted(records) == [("HCPCS", "A9901"), ("MODIFIER", "ZQ")]
    a9901 = records[("HCPCS", "A9901")]
    assert a9901.long_description == ("Invented supply for parser tests, first line of a long description that "
                                      "continues on a RECID 4 line")
    assert a9901.attributes["tos"] == ["9", "P"]
    assert a9901.row == 2
    zq = records[("MODIFIER", "ZQ")]
    assert (zq.termination_date, zq.attributes["coverage_code"], zq.attributes["action_code"]) == \
           (20991231, "S", "D")
    by_line = {e.line: e.message for e in errors}
    assert sorted(by_line) == [4, 5, 6, 8, 9]
    assert "RECID '9'" in by_line[4]
    assert "without a first line" in by_line[5] and "A9903" in by_line[5]
    assert "'12345' is not a HCPCS Level II procedure code" in by_line[6]
    assert "ACT EFF DT '2099-01-01'" in by_line[8]
    assert "RECID ''" in by_line[9]  # the truncated last line
    assert all(e.file == str(path) for e in errors)


@pytest.mark.unit
def test_malformed_fixed_width_records_become_row_errors_with_their_lines():
    path = FIXTURES / "HCPC2099_ANWEB_fixed_width_malformed.txt"
    records, errors = split(load_hcpcs(path, lay_terms=None))
    assert sorted(records) == [("HCPCS", "A9901"), ("MODIFIER", "ZQ")]
    assert records[("HCPCS", "A9901")].long_description.endswith("long description that continues on a RECID 4 line")
    assert records[("HCPCS", "A9901")].row == 3
    assert records[("MODIFIER", "ZQ")].long_description == "Invented modifier for parser tests that also continues"
    by_line = {e.line: e.message for e in errors}
    assert sorted(by_line) == [5, 6, 9, 10]
    assert "RECID '5'" in by_line[5]
    assert "without a first line" in by_line[6]
    assert "RECID 4" in by_line[9] and "'ZQ'" in by_line[9]  # a procedure continuation after a modifier
    assert "11 characters" in by_line[10]


@pytest.mark.unit
def test_a_file_that_is_not_hcpcs_raises_naming_the_file(tmp_path):
    path = FIXTURES / "not_hcpcs.txt"
    with pytest.raises(IngestError, match="not a CMS HCPCS ANWEB file") as error:
        load_hcpcs(path, "2099")
    assert error.value.file == str(path)
    assert str(path) in str(error.value)
    longer = tmp_path / "agenda.txt"
    longer.write_text("an agenda line\n" * 80)
    with pytest.raises(IngestError) as error:
        load_hcpcs(longer, "2099")
    assert str(error.value).startswith(f"{longer}:50: ")
    with pytest.raises(IngestError, match="file not found"):
        load_hcpcs(tmp_path / "missing.zip", "2099")
    legacy = tmp_path / "HCPC2099_ANWEB.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(IngestError, match="legacy .xls"):
        load_hcpcs(legacy)


@pytest.mark.unit
def test_version_needs_a_name_or_an_argument(tmp_path):
    source = (FIXTURES / "HCPC2099_ANWEB_fixed_width_malformed.txt").read_bytes()
    unnamed = tmp_path / "codes.txt"
    unnamed.write_bytes(source)
    with pytest.raises(IngestError, match="pass version="):
        load_hcpcs(unnamed)
    assert load_hcpcs(unnamed, "2099-04").version == "2099-04"


@pytest.mark.unit
@pytest.mark.parametrize("name, version", [
    ("HCPC2020_ANWEB_w_disclaimer.txt", "2020"),
    ("2020-Alpha-Numeric-HCPCS-File.zip", "2020"),
    ("HCPC2026_OCT_ANWEB.excerpt.csv", "2026-10"),
    ("HCPC2025_JUL_ANWEB_v3.txt", "2025-07"),
    ("2026-JAN-alpha-numeric.zip", "2026-01"),
    ("january-2026-alpha-numeric-hcpcs-file.zip", "2026-01"),
    ("HCPC2019_CONTR_ANWEB.xlsx", "2019"),
    ("codes.txt", None),
])
def test_infer_version(name, version):
    assert infer_version(name) == version


@pytest.mark.unit
def test_layout_covers_320_columns_without_overlap():
    spans = sorted((start, end) for _, start, end in FIXED_WIDTH)
    assert all(a_end < b_start for (_, a_end), (b_start, _) in pairwise(spans))
    assert spans[0][0] == 1 and spans[-1][1] == 293  # 294-320 is filler
    assert len(FIXED_WIDTH) == 48  # the 48 columns of the CMS spreadsheet header
