"""The project's deleted-CPT-codes table: its content, its loader, and what the code check makes of it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ingest.loaders.corpora import load_cpt_corpus
from ingest.loaders.deleted_codes import COLUMNS, DATASET, load_deleted_cpt
from ingest.records import IngestError, RowError
from ingest.write_reference import write_release
from rag.exact import check_code
from rag.stores.reference import ReferenceStore
from rag.stores.schema import DATASETS, CodeRecord

REPO = Path(__file__).resolve().parents[2]
CPT_DIR = REPO / "corpora" / "cpt"
TABLE = CPT_DIR / "deleted_codes.csv"


def _records() -> dict[str, CodeRecord]:
    items = list(load_deleted_cpt(TABLE))
    errors = [str(i) for i in items if isinstance(i, RowError)]
    assert not errors, errors
    return {i.code: i for i in items}


def _corpus_codes() -> dict[str, dict]:
    return {item["code"]: item for path in sorted(CPT_DIR.glob("*.jsonl"))
            for item in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if item}


@pytest.mark.unit
def test_the_table_covers_the_deletions_coders_meet_with_dates_and_replacements():
    records = _records()
    assert len(records) >= 200
    office = records["99201"]
    assert office.code_set == "CPT" and office.termination_date == 20201231
    assert office.attributes["deleted_on"] == 20210101 and office.attributes["replacement_codes"] == ["99202"]
    assert records["22524"].attributes["replacement_codes"] == ["22514"]
    assert records["22524"].attributes["deleted_on"] == 20150101
    for code in ("99217", "99218", "99219", "99220", "99224", "99225", "99226", "99241", "99251"):
        assert records[code].attributes["deleted_on"] == 20230101, code
    for code in ("22520", "22521", "22522", "22523", "22525"):
        assert records[code].attributes["deleted_on"] == 20150101, code
    assert records["97001"].attributes["replacement_codes"] == ["97161", "97162", "97163"]
    assert {records[c].attributes["deleted_on"] for c in ("99143", "99150", "97001", "97004")} == {20170101}
    # consultations still valid, except the lowest levels
    for code in ("99242", "99243", "99244", "99245", "99252", "99253", "99254", "99255", "22514", "99202"):
        assert code not in records, code
    assert all(r.termination_date and r.attributes["note"] and r.attributes["source"] for r in records.values())
    assert "Deleted CPT code" in records["99201"].lay_description and "99202" in records["99201"].lay_description


@pytest.mark.unit
def test_no_current_corpus_code_is_listed_as_deleted_and_no_replacement_is_itself_deleted():
    records, corpus = _records(), _corpus_codes()
    assert not set(records) & set(corpus)
    replacements = {c for r in records.values() for c in r.attributes["replacement_codes"]}
    assert not replacements & set(records)
    # the corpus families with a known deletion all appear, by family name
    families = {r.family for r in records.values()}
    for family in ("Office or other outpatient visit, new patient", "Percutaneous vertebral augmentation (kyphoplasty)",
                   "Physical therapy evaluations", "Chest X-ray", "Mammography", "Skin biopsy",
                   "Interlaminar epidural or subarachnoid injection", "Psychotherapy"):
        assert family in families, family
        assert family in {item["family"] for item in corpus.values()}, family


@pytest.mark.unit
def test_the_table_holds_no_descriptor_text_of_its_own_only_the_columns_it_declares():
    with open(TABLE, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert all(len(row["note"]) <= 260 for row in rows)  # a short note in our words, not a copied descriptor
    assert all(row["source"].startswith(("AMA CPT", "CMS")) for row in rows)


@pytest.mark.unit
def test_bad_rows_become_row_errors_with_their_line(tmp_path):
    path = tmp_path / "deleted_codes.csv"
    path.write_text(
        "code,deleted_on,replacement_codes,family,note,source\n"
        "99201,2021-01-01,99202,Office,Removed.,AMA CPT 2021\n"
        "9920,2021-01-01,99202,Office,Removed.,AMA CPT 2021\n"
        "99218,01/01/2023,99221,Observation,Removed.,AMA CPT 2023\n"
        "99219,2023-01-01,9922X,Observation,Removed.,AMA CPT 2023\n"
        "99220,2023-01-01,99220,Observation,Removed.,AMA CPT 2023\n"
        "99224,2023-01-01,99231,Observation,,AMA CPT 2023\n"
        "99201,2021-01-01,99202,Office,Again.,AMA CPT 2021\n", encoding="utf-8")
    items = list(load_deleted_cpt(tmp_path))
    assert [i.code for i in items if isinstance(i, CodeRecord)] == ["99201"]
    errors = {i.line: i.message for i in items if isinstance(i, RowError)}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8]
    assert "not a CPT code" in errors[3] and "not a date" in errors[4] and "9922X" in errors[5]
    assert "itself" in errors[6] and "missing note" in errors[7] and "first on line 2" in errors[8]


@pytest.mark.unit
def test_unreadable_tables_fail_with_the_file_name(tmp_path):
    with pytest.raises(IngestError, match="file not found"):
        load_deleted_cpt(tmp_path / "absent.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,date\n99201,2021-01-01\n", encoding="utf-8")
    with pytest.raises(IngestError, match="header lacks") as error:
        load_deleted_cpt(wrong)
    assert error.value.file == str(wrong)
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match="no deleted-code rows"):
        load_deleted_cpt(empty)


@pytest.mark.store
def test_a_deleted_code_checks_as_deleted_and_its_replacement_as_valid(tmp_path):
    assert DATASETS[DATASET].kind == "codes"
    cpt = load_cpt_corpus(CPT_DIR)
    cpt.items = [i for i in cpt.items if isinstance(i, CodeRecord)]
    write_release(tmp_path, cpt)
    report = write_release(tmp_path, load_deleted_cpt(TABLE))
    assert report.rows == len(_records()) and report.rejected == 0
    store = ReferenceStore(tmp_path)
    deleted = check_code(store, "22524")
    assert (deleted.status, deleted.code_set, deleted.termination_date) == ("deleted", "CPT", 20141231)
    assert "22514" in deleted.description
    assert check_code(store, "22514").status == "valid"
    for code in _records():
        assert check_code(store, code).status == "deleted", code
    store.close()
