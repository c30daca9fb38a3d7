"""The project's HCPCS lay-term table (corpora/hcpcs/lay_terms.csv): every row checked against the real CMS 2020
file, and the loader merging a table into a tiny invented file, reporting its bad rows and keying the checksum."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest

from ingest.loaders.files import LAY_TERM_COLUMNS, sha256_of
from ingest.loaders.hcpcs import DEFAULT_LAY_TERMS, load_hcpcs, read_lay_terms, with_lay_terms
from ingest.records import IngestError, RowError
from ingest.write_reference import StrictModeError, write_release
from rag.stores.schema import CodeRecord

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "corpora" / "hcpcs" / "lay_terms.csv"
ZIP_2020 = "hcpcs_level2_2020_cms/2020-Alpha-Numeric-HCPCS-File.zip"
CODE_IN_NOTE = re.compile(r"\b[A-Z]\d{4}\b")


def _rows() -> list[tuple[int, dict[str, str]]]:
    with open(TABLE, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == LAY_TERM_COLUMNS
        return [(reader.line_num, row) for row in reader]


def _codes(parsed) -> dict[str, CodeRecord]:
    return {i.code: i for i in parsed if isinstance(i, CodeRecord) and i.code_set == "HCPCS"}


@pytest.fixture(scope="module")
def hcpcs_2020(shared_data) -> dict[str, CodeRecord]:
    """The real CMS 2020 procedure codes, as CMS describes them (no lay terms)."""
    return _codes(load_hcpcs(shared_data / ZIP_2020, lay_terms=None))


# ------------------------------------------------------------------ the table against the real 2020 file

@pytest.mark.unit
@pytest.mark.shared_data
def test_every_row_is_one_active_2020_code_with_everyday_terms(hcpcs_2020):
    rows = _rows()
    assert DEFAULT_LAY_TERMS == TABLE and 80 <= len(rows) <= 150
    seen: dict[str, int] = {}
    for line, row in rows:
        code, terms, note = row["code"], row["lay_terms"].split("|"), row["note"]
        where = f"lay_terms.csv:{line} {code}"
        assert code in hcpcs_2020, f"{where}: not a procedure code of the HCPCS 2020 file"
        record = hcpcs_2020[code]
        assert record.termination_date is None, f"{where}: terminated on {record.termination_date}"
        assert code not in seen, f"{where}: listed twice (first on line {seen[code]})"
        seen[code] = line
        assert terms and all(t and t == " ".join(t.split()) for t in terms), f"{where}: empty or padded term"
        assert len({t.casefold() for t in terms}) == len(terms), f"{where}: a term repeats"
        # Everyday words, not CMS's descriptor text: no term is a piece of the code's own descriptors.
        descriptors = f"{record.long_description}\n{record.short_description}".casefold()
        copied = [t for t in terms if t.casefold() in descriptors]
        assert not copied, f"{where}: {copied} copy the CMS descriptor; lay terms are the words it lacks"
        for named in CODE_IN_NOTE.findall(note):
            assert named in hcpcs_2020 and hcpcs_2020[named].termination_date is None, \
                f"{where}: the note names {named}, not an active 2020 code"
    # The table reads without a malformed row, as the loader reads it.
    table = read_lay_terms(TABLE)
    assert not table.errors, [str(e) for e in table.errors]
    assert len(table.terms) == len(rows) and len(table.sha256) == 64


@pytest.mark.unit
@pytest.mark.shared_data
def test_the_2020_release_carries_the_tables_terms_without_a_bad_row(shared_data):
    parsed = load_hcpcs(shared_data / ZIP_2020)
    items = list(parsed)
    assert not [str(i) for i in items if isinstance(i, RowError)]
    codes = _codes(items)
    assert "welcome to medicare visit" in codes["G0402"].attributes["lay_terms"]
    assert "b12 shot" in codes["J3420"].attributes["lay_terms"]
    assert "rolling walker" in codes["E0143"].attributes["lay_terms"]
    assert codes["G0438"].attributes["lay_terms_note"]
    assert "ketorolac shot" in codes["J1885"].attributes["lay_terms"]
    assert "lay_terms" not in codes["A4466"].attributes  # a code the table does not name is unchanged
    assert parsed.source_sha256 != sha256_of(shared_data / ZIP_2020)
    assert any("lay_terms.csv" in note for note in parsed.notes)


@pytest.mark.unit
@pytest.mark.shared_data
def test_an_older_release_reports_the_rows_for_codes_it_lacks(shared_data):
    """The 2019 file predates codes added in 2020: their rows are malformed rows of that release, found last."""
    parsed = load_hcpcs(shared_data / "hcpcs_level2_2019_cms/2019-Alpha-Numeric-HCPCS-File.zip")
    items = list(parsed)
    errors = [i for i in items if isinstance(i, RowError)]
    assert errors and all(e.file == str(TABLE) and "is not a procedure code of" in e.message for e in errors)
    assert items[-len(errors):] == errors
    lacking = {e.message.split()[0] for e in errors}
    assert "G2058" in lacking and "G0402" not in lacking  # G2058 is new in 2020


# ------------------------------------------------------------------ the loader, on an invented file and table

HEADER = ("HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,PRICE1,PRICE2,PRICE3,PRICE4,MULT_PI,CIM1,CIM2,CIM3,"
          "MCM1,MCM2,MCM3,STATUTE,LABCERT1,LABCERT2,LABCERT3,LABCERT4,LABCERT5,LABCERT6,LABCERT7,LABCERT8,XREF1,"
          "XREF2,XREF3,XREF4,XREF5,COV,ASC_GRP,ASC_DT,OPPS,OPPS_PI,OPPS_DT,PROCNOTE,BETOS,TOS1,TOS2,TOS3,TOS4,TOS5,"
          "ANEST_BU,ADD DT,ACT EFF DT,TERM DT,ACTION CD")


def _record(code: str, recid: str, description: str, term_date: str = "") -> str:
    fields = dict.fromkeys(HEADER.split(","), "")
    fields.update({"HCPC": code, "SEQNUM": "0010", "RECID": recid, "LONG DESCRIPTION": description,
                   "SHORT DESCRIPTION": description[:28], "ACT EFF DT": "20990101", "TERM DT": term_date,
                   "ACTION CD": "N"})
    return ",".join(fields.values())


TINY_FILE = "\n".join([
    HEADER,
    _record("A9901", "3", "Invented walking aid for lay-term tests"),
    _record("A9902", "3", "Invented preventive visit for lay-term tests"),
    _record("A9903", "3", "Invented code that has ended", "20981231"),
    _record("ZQ", "7", "Invented modifier for lay-term tests"),
]) + "\n"

TINY_TABLE = (
    "code,lay_terms,note\n"
    "A9901,rolling thing|wheeled helper,\n"           # 2: good
    "A9902,checkup visit,Once a year\n"               # 3: good, with a note
    "A9903,old thing,\n"                              # 4: the file ends the code (TERM DT)
    "A9904,missing thing,\n"                          # 5: the file does not hold the code
    "a9901,lower case,\n"                             # 6: not written as CMS writes codes
    "ZQ,a modifier,\n"                                # 7: a modifier, not a procedure code
    "A9901,wheeled helper again,\n"                   # 8: listed twice
    "A9902, | ,\n"                                    # 9: blank terms only
    "A9902,checkup,a note, with a comma\n"            # 10: an unquoted comma
)


@pytest.fixture
def tiny(tmp_path) -> tuple[Path, Path]:
    source = tmp_path / "HCPC2099_ANWEB.csv"
    source.write_text(TINY_FILE, encoding="utf-8")
    table = tmp_path / "lay_terms.csv"
    table.write_text(TINY_TABLE, encoding="utf-8")
    return source, table


@pytest.mark.unit
def test_the_tables_terms_land_in_the_codes_lay_terms(tiny):
    source, table = tiny
    items = list(load_hcpcs(source, lay_terms=table))
    records = {(i.code_set, i.code): i for i in items if isinstance(i, CodeRecord)}
    assert len(records) == 4  # a bad table row never drops a code
    assert records[("HCPCS", "A9901")].attributes["lay_terms"] == ["rolling thing", "wheeled helper"]
    assert "lay_terms_note" not in records[("HCPCS", "A9901")].attributes
    assert records[("HCPCS", "A9902")].attributes["lay_terms"] == ["checkup visit"]
    assert records[("HCPCS", "A9902")].attributes["lay_terms_note"] == "Once a year"
    assert "lay_terms" not in records[("HCPCS", "A9903")].attributes  # an ended code gets no new search words
    assert "lay_terms" not in records[("MODIFIER", "ZQ")].attributes
    plain = {(i.code_set, i.code): i for i in load_hcpcs(source, lay_terms=None) if isinstance(i, CodeRecord)}
    assert "lay_terms" not in plain[("HCPCS", "A9901")].attributes


@pytest.mark.unit
def test_bad_rows_are_reported_by_the_tables_file_and_line(tiny):
    source, table = tiny
    items = list(load_hcpcs(source, lay_terms=table))
    errors = [i for i in items if isinstance(i, RowError)]
    assert all(e.file == str(table) for e in errors)
    by_line = {e.line: e.message for e in errors}
    assert sorted(by_line) == [4, 5, 6, 7, 8, 9, 10]
    assert by_line[4].startswith("A9903 is terminated (2098-12-31)")
    assert by_line[5] == f"A9904 is not a procedure code of {source}"
    assert "'a9901' is not a HCPCS Level II procedure code" in by_line[6]
    assert "'ZQ' is not a HCPCS Level II procedure code" in by_line[7]
    assert "first on line 2" in by_line[8]
    assert "no lay terms" in by_line[9] and "comma" in by_line[10]
    # The table's malformed rows come first, a row for an ended code just before that code, absent codes last.
    assert [i.line for i in items[:5] if isinstance(i, RowError)] == [6, 7, 8, 9, 10]
    assert items[-1] == errors[-1] and errors[-1].line == 5


@pytest.mark.unit
def test_strict_mode_fails_on_a_bad_table_row(tiny, tmp_path):
    source, table = tiny
    with pytest.raises(StrictModeError) as error:
        write_release(tmp_path / "data", load_hcpcs(source, lay_terms=table), strict=True)
    assert str(error.value).startswith(f"{table}:6: malformed row (strict mode)")


@pytest.mark.unit
def test_the_tables_digest_is_part_of_the_release_checksum(tiny):
    source, table = tiny
    plain = load_hcpcs(source, lay_terms=None)
    assert plain.source_sha256 == sha256_of(source) and not plain.notes  # no table: the file's own digest
    first = load_hcpcs(source, lay_terms=table)
    assert first.source_sha256 not in ("", plain.source_sha256)
    assert load_hcpcs(source, lay_terms=table).source_sha256 == first.source_sha256  # same table, same checksum
    assert any(hashlib.sha256(table.read_bytes()).hexdigest()[:12] in note for note in first.notes)
    table.write_text(TINY_TABLE.replace("rolling thing", "rolling frame"), encoding="utf-8")
    assert load_hcpcs(source, lay_terms=table).source_sha256 != first.source_sha256  # an edit reloads HCPCS


@pytest.mark.unit
def test_terms_merge_after_the_codes_own_without_repeats(tmp_path):
    table_path = tmp_path / "lay_terms.csv"
    table_path.write_text("code,lay_terms,note\nA9901,Walker on wheels|rolling thing,\n", encoding="utf-8")
    table = read_lay_terms(table_path)
    record = CodeRecord(code="A9901", code_set="HCPCS", attributes={"lay_terms": ["walker  on wheels", "frame"]})
    (merged,) = with_lay_terms([record], table, "invented")
    assert merged.attributes["lay_terms"] == ["walker on wheels", "frame", "rolling thing"]


@pytest.mark.unit
def test_an_unreadable_table_fails_the_load_with_its_name(tiny, tmp_path):
    source, _ = tiny
    with pytest.raises(IngestError, match="cannot read the lay-term table") as error:
        load_hcpcs(source, lay_terms=tmp_path / "absent.csv")
    assert error.value.file == str(tmp_path / "absent.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,terms\nA9901,walker\n", encoding="utf-8")
    with pytest.raises(IngestError, match="header lacks lay_terms"):
        load_hcpcs(source, lay_terms=wrong)


@pytest.mark.unit
def test_ingest_takes_the_repositorys_table_unless_told_otherwise(monkeypatch, tmp_path):
    from ingest.session import HCPCS_LAY_TERMS_ENV, hcpcs_lay_terms

    monkeypatch.delenv(HCPCS_LAY_TERMS_ENV, raising=False)
    assert hcpcs_lay_terms() == DEFAULT_LAY_TERMS == TABLE
    monkeypatch.setenv(HCPCS_LAY_TERMS_ENV, str(tmp_path / "other.csv"))
    assert hcpcs_lay_terms() == tmp_path / "other.csv"
    monkeypatch.setenv(HCPCS_LAY_TERMS_ENV, "")
    assert hcpcs_lay_terms() is None
