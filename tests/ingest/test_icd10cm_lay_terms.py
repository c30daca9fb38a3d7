"""The project's ICD-10-CM lay-term table (corpora/icd10cm/lay_terms.csv): every row checked against the tabular,
its terms merged into the codes' search terms, and a bad row reported by file and line."""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import pytest

from ingest.loaders.icd10cm import DEFAULT_LAY_TERMS, LAY_TERM_COLUMNS, load_icd10cm, read_lay_terms
from ingest.records import IngestError, ParsedRelease, RowError
from ingest.write_reference import StrictModeError, write_release
from rag.stores.reference import ReferenceStore

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "corpora" / "icd10cm" / "lay_terms.csv"
CODE_IN_NOTE = re.compile(r"\b[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?(?![0-9A-Z.])")


@pytest.fixture(scope="module")
def cm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


def _rows() -> list[tuple[int, dict[str, str]]]:
    with open(TABLE, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == LAY_TERM_COLUMNS
        return [(reader.line_num, row) for row in reader]


@pytest.mark.unit
def test_every_row_is_one_billable_code_of_the_tabular_with_terms(cm):
    rows = _rows()
    assert DEFAULT_LAY_TERMS == TABLE and 250 <= len(rows) <= 450
    seen: dict[str, int] = {}
    for line, row in rows:
        code, terms, note = row["code"], row["lay_terms"].split("|"), row["note"]
        where = f"lay_terms.csv:{line} {code}"
        assert code == code.strip() and cm.is_valid_item(code), f"{where}: not an ICD-10-CM code"
        assert "." in code or len(code) == 3, f"{where}: write the code with its dot"
        assert cm.is_leaf(code), f"{where}: not billable ({cm.get_description(code)})"
        assert code not in seen, f"{where}: listed twice (first on line {seen[code]})"
        seen[code] = line
        assert terms and all(t and t == " ".join(t.split()) for t in terms), f"{where}: empty or padded term"
        assert len({t.casefold() for t in terms}) == len(terms), f"{where}: a term repeats"
        for named in CODE_IN_NOTE.findall(note):
            assert cm.is_valid_item(named), f"{where}: the note names {named}, not an ICD-10-CM code"
    # The table reads without a malformed row, as the loader reads it.
    table = read_lay_terms(TABLE, cm)
    assert not table.errors, [str(e) for e in table.errors]
    assert len(table.terms) == len(rows) and len(table.sha256) == 64


@pytest.mark.unit
def test_codes_that_take_a_7th_character_have_the_initial_encounter_one(cm):
    for line, row in _rows():
        code = row["code"]
        if any(cm.get_seven_chr_def(a) for a in cm.get_ancestors(code) if "-" not in a and not a.isdigit()):
            assert len(code.replace(".", "")) == 7 and code.endswith("A"), f"lay_terms.csv:{line} {code}"


@pytest.fixture(scope="module")
def release():
    parsed = load_icd10cm()
    items = list(parsed)
    return parsed, items


@pytest.mark.unit
def test_the_loader_merges_the_table_after_the_tabulars_terms(release):
    parsed, items = release
    assert not [str(i) for i in items if isinstance(i, RowError)]
    by_code = {r.code: r for r in items}
    assert by_code["M54.2"].long_description == "Cervicalgia"
    assert by_code["M54.2"].attributes["lay_terms"][:2] == ["neck pain", "cervical pain"]
    # The tabular's own terms come first; the table's repeat of one ("renal calculus") is not added again.
    n200 = by_code["N20.0"].attributes["lay_terms"]
    assert n200.index("Stone in kidney") < n200.index("kidney stone")
    assert [t.casefold() for t in n200].count("renal calculus") == 1
    assert "annual physical" in by_code["Z00.00"].attributes["lay_terms"]
    assert by_code["Z00.00"].attributes["lay_terms_note"]
    assert "lay_terms_note" not in by_code["M54.2"].attributes  # a row without a note adds none
    assert "lay_terms" not in by_code["M80.08XA"].attributes  # a code the table does not name is unchanged
    # The table's digest is in the release checksum: editing the table reloads the release.
    assert parsed.source_sha256 != load_icd10cm(lay_terms=None).source_sha256
    assert any("lay_terms.csv" in note for note in parsed.notes)


@pytest.mark.store
def test_a_loaded_code_reads_back_with_the_tables_terms(release, tmp_path):
    parsed, items = release
    report = write_release(tmp_path, ParsedRelease(parsed.dataset, parsed.version, parsed.source_file, items,
                                                   parsed.source_sha256))
    assert report.rejected == 0
    store = ReferenceStore(tmp_path)
    try:
        (found,) = store.lookup_code("M54.2")
        assert "neck pain" in found.fact.attributes["lay_terms"]
        (strep,) = store.lookup_code("J02.0")
        assert {"Streptococcal sore throat", "strep throat"} <= set(strep.fact.attributes["lay_terms"])
        (sprain,) = store.lookup_code("S93.409A")
        assert "sprained ankle" in sprain.fact.attributes["lay_terms"]
    finally:
        store.close()


BAD_TABLE = (
    "code,lay_terms,note\n"
    "M54.2,neck pain|sore neck,\n"      # 2: good
    "M54.99,back thing,\n"              # 3: not a code
    "M54,back pain,\n"                  # 4: a category, not billable
    "J02.0,,\n"                         # 5: no terms
    "M54.2,neck ache,\n"                # 6: listed twice
    "M542,neck pain,\n"                 # 7: no dot
    "J02.9,sore throat,a note, with a comma\n"  # 8: an unquoted comma
    "\n"
    "I10, | ,\n"                        # 10: blank terms only
)


@pytest.mark.unit
def test_bad_rows_are_reported_by_file_and_line(tmp_path, cm):
    path = tmp_path / "lay_terms.csv"
    path.write_text(BAD_TABLE, encoding="utf-8")
    table = read_lay_terms(path, cm)
    assert table.terms == {"M54.2": ["neck pain", "sore neck"]}
    errors = {e.line: e for e in table.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 10]
    assert all(e.file == str(path) for e in table.errors)
    assert str(errors[3]) == f"{path}:3: 'M54.99' is not an ICD-10-CM code"
    assert "not billable" in errors[4].message and "no lay terms" in errors[5].message
    assert "first on line 2" in errors[6].message and "M54.2" in errors[7].message
    assert "comma" in errors[8].message and "no lay terms" in errors[10].message


@pytest.mark.unit
def test_the_loader_reports_bad_rows_first_and_strict_mode_fails_on_them(tmp_path):
    path = tmp_path / "lay_terms.csv"
    path.write_text("code,lay_terms,note\nM54.2,neck pain,\nM54,back pain,\n", encoding="utf-8")
    parsed = load_icd10cm(lay_terms=path)
    first = next(iter(parsed))  # the table's malformed rows come before the 98,186 codes
    assert isinstance(first, RowError) and (first.file, first.line) == (str(path), 3)
    with pytest.raises(StrictModeError) as error:
        write_release(tmp_path / "data", load_icd10cm(lay_terms=path), strict=True)
    assert str(error.value).startswith(f"{path}:3: malformed row (strict mode)")


@pytest.mark.unit
def test_an_unreadable_table_fails_the_load_with_its_name(tmp_path):
    with pytest.raises(IngestError, match="cannot read the lay-term table") as error:
        load_icd10cm(lay_terms=tmp_path / "absent.csv")
    assert error.value.file == str(tmp_path / "absent.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,terms\nM54.2,neck pain\n", encoding="utf-8")
    with pytest.raises(IngestError, match="header lacks lay_terms") as error:
        load_icd10cm(lay_terms=wrong)
    assert (error.value.file, error.value.line) == (str(wrong), 1)
