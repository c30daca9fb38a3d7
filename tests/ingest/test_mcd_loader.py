"""Medicare coverage loaders: the MCD download layout (current_lcd.zip / current_article.zip, each a *_csv.zip of
tables), the MCD index, and the project's NCD and MAC jurisdiction corpora. Fixtures: tests/fixtures/mcd."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from ingest.loaders.mcd import (
    load_mac_jurisdictions,
    load_mcd_download,
    load_mcd_index,
    load_ncd_corpus,
    ncd_passages,
    parse_contractors,
)
from ingest.records import IngestError, RowError
from ingest.write_reference import write_release
from rag.stores.catalog import Catalog
from rag.stores.reference import ReferenceStore
from rag.stores.schema import CoveragePolicy, PolicyCode, PolicyState

pytestmark = pytest.mark.store

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "mcd"
CORPORA = REPO / "corpora" / "coverage"
SHARED_INDEX = REPO.parent / "shared" / "data" / "mcd_lcd_article_index_2025-08"


def _zip_export(folder: Path, outer: Path) -> Path:
    """current_x.zip holding current_x_csv.zip holding the tables: the layout CMS publishes."""
    inner = outer.with_name(outer.stem + "_csv.zip")
    with zipfile.ZipFile(inner, "w") as archive:
        for table in sorted(folder.glob("*.csv")):
            archive.write(table, table.name)
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(inner, inner.name)
    inner.unlink()
    return outer


@pytest.fixture
def download(tmp_path) -> Path:
    folder = tmp_path / "download"
    folder.mkdir()
    _zip_export(FIXTURES / "current_lcd_csv", folder / "current_lcd.zip")
    _zip_export(FIXTURES / "current_article_csv", folder / "current_article.zip")
    return folder


def _with_table(tmp_path: Path, table: str, replacement: Path | None) -> Path:
    """A copy of the article export with one table replaced (or removed), zipped, beside the LCD export."""
    articles = tmp_path / "articles"
    shutil.copytree(FIXTURES / "current_article_csv", articles)
    (articles / table).unlink()
    if replacement is not None:
        shutil.copy(replacement, articles / table)
    folder = tmp_path / "download"
    folder.mkdir()
    _zip_export(FIXTURES / "current_lcd_csv", folder / "current_lcd.zip")
    _zip_export(articles, folder / "current_article.zip")
    return folder


def _items(path: Path, version: str = "2026-11") -> list:
    releases = load_mcd_download(path, version)
    assert len(releases) == 1 and releases[0].dataset == "mcd_download"
    return list(releases[0].items)


# ---------------------------------------------------------------- the download layout

def test_download_reads_policies_contractors_states_and_code_lists(download):
    items = _items(download)
    assert not [i for i in items if isinstance(i, RowError)]
    policies = {p.policy_id: p for p in items if isinstance(p, CoveragePolicy)}
    assert set(policies) == {"L99901", "L99902", "L99903", "L99904", "A99911", "A99912", "A99913"}
    lcd = policies["L99901"]
    assert lcd.doc_type == "LCD" and lcd.version == "7" and lcd.effective_date == 20241003
    assert lcd.url == "https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=99901&ver=7"
    assert ("CGS Administrators, LLC", "A and B MAC 15201") in lcd.contractors
    assert lcd.related == ("A99911",)
    assert policies["A99911"].related == ("L99901",)
    assert policies["L99903"].status == "retired" and policies["L99903"].retirement_date == 20250626
    assert policies["L99904"].status == "future"
    states = {(s.policy_id, s.state) for s in items if isinstance(s, PolicyState)}
    assert ("L99901", "OH") in states and ("L99901", "KY") in states
    assert ("L99902", "TX") in states and ("L99902", "CO") not in states  # that jurisdiction ended in 2012
    codes = {(c.policy_id, c.code, c.code_list) for c in items if isinstance(c, PolicyCode)}
    assert ("A99911", "22514", "procedure") in codes
    assert ("A99911", "M48.56XA", "covered") in codes  # written without its dot in the file
    assert ("A99911", "M54.50", "noncovered") in codes
    assert ("L99904", "E0601", "procedure") in codes  # a DME LCD's own code list


def test_download_is_written_as_one_release_and_read_back(download, tmp_path):
    data = tmp_path / "data"
    report = write_release(data, load_mcd_download(download, "2026-11")[0])
    assert report.rows == 7 and report.rejected == 0
    store = ReferenceStore(data)
    listed = {s.fact.policy_id for s in store.policies_listing("22514")}
    assert listed == {"A99911", "A99912"}
    assert store.has_code_lists()
    article = next(s for s in store.policies(["A99911"]))
    assert [c.code for c in store.policy_codes(article, code_list="covered")] == ["M80.08XA", "M48.56XA", "C79.51"]
    assert store.policy_states(article) == ["KY", "OH"]
    again = write_release(data, load_mcd_download(download, "2026-11")[0])
    assert again.skipped  # same files, same version: a no-op


def test_a_csv_zip_or_a_folder_of_extracted_tables_loads_too(tmp_path):
    inner = tmp_path / "current_article_csv.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        for table in (FIXTURES / "current_article_csv").glob("*.csv"):
            archive.write(table, table.name)
    from_zip = [i.policy_id for i in _items(inner) if isinstance(i, CoveragePolicy)]
    from_folder = [i.policy_id for i in _items(FIXTURES / "current_lcd_csv") if isinstance(i, CoveragePolicy)]
    assert from_zip == ["A99911", "A99912", "A99913"]
    assert from_folder == ["L99901", "L99902", "L99903", "L99904"]


def test_descriptor_columns_are_never_kept(download, tmp_path):
    data = tmp_path / "data"
    write_release(data, load_mcd_download(download, "2026-11")[0])
    import sqlite3

    path = next((data / "reference" / "mcd_download").glob("*.sqlite"))
    columns = {row[1] for table in ("policies", "policy_codes")
               for row in sqlite3.connect(path).execute(f"PRAGMA table_info({table})")}
    assert not {"long_description", "short_description", "description"} & columns


# ---------------------------------------------------------------- malformed downloads

def test_a_missing_column_fails_before_anything_is_written(tmp_path):
    folder = _with_table(tmp_path, "article_x_icd10_covered.csv",
                         FIXTURES / "malformed" / "article_x_icd10_covered_missing_column.csv")
    with pytest.raises(IngestError, match=r"article_x_icd10_covered\.csv.*missing column\(s\) icd10_code_id"):
        load_mcd_download(folder, "2026-11")


def test_a_missing_table_is_named(tmp_path):
    folder = _with_table(tmp_path, "article_x_hcpc_code.csv", None)
    with pytest.raises(IngestError, match="has no article_x_hcpc_code.csv"):
        load_mcd_download(folder, "2026-11")


def test_malformed_rows_are_counted_and_named(tmp_path):
    folder = _with_table(tmp_path, "article_x_hcpc_code.csv",
                         FIXTURES / "malformed" / "article_x_hcpc_code_bad_rows.csv")
    errors = [i for i in _items(folder) if isinstance(i, RowError)]
    messages = " | ".join(e.message for e in errors)
    assert len(errors) == 3, messages
    assert "'NOT-A-CODE' is not a HCPCS/CPT code" in messages
    assert "article 12345 version 1 is not in article.csv" in messages
    assert "version 'x' is not a number" in messages
    assert all(e.file.endswith("article_x_hcpc_code.csv") and e.line > 1 for e in errors)


def test_a_ragged_file_leaves_the_previous_release_serving(download, tmp_path):
    data = tmp_path / "data"
    write_release(data, load_mcd_download(download, "2026-10")[0])
    (tmp_path / "b").mkdir()
    broken = _with_table(tmp_path / "b", "article_x_icd10_covered.csv",
                         FIXTURES / "malformed" / "article_x_icd10_covered_ragged.csv")
    with pytest.raises(IngestError, match=r"article_x_icd10_covered\.csv:3: a row has 4 fields"):
        write_release(data, load_mcd_download(broken, "2026-11")[0])
    assert Catalog(data).active("reference")["mcd_download"].version == "2026-10"
    releases = sorted(p.name for p in (data / "reference" / "mcd_download").iterdir() if not p.name.startswith("."))
    assert releases == ["2026-10.sqlite"]  # (the dataset's writer lock file aside)


def test_not_a_zip_and_not_an_export(tmp_path):
    with pytest.raises(IngestError, match="not a zip archive"):
        load_mcd_download(FIXTURES / "malformed" / "current_article.zip", "2026-11")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match="no MCD LCD or article tables"):
        load_mcd_download(tmp_path / "empty", "2026-11")
    with pytest.raises(IngestError, match="needs a release version"):
        load_mcd_download(FIXTURES / "current_lcd_csv", " ")


# ---------------------------------------------------------------- the MCD index

def test_index_fixture_parses_contractors_status_and_bad_dates():
    parsed = load_mcd_index(FIXTURES / "documents_latest.csv", "test")
    items = list(parsed.items)
    errors = [i for i in items if isinstance(i, RowError)]
    assert len(errors) == 1 and "13/45/2024" in errors[0].message
    policies = {p.policy_id: p for p in items if isinstance(p, CoveragePolicy)}
    assert policies["L99903"].status == "retired" and policies["L99903"].retirement_date == 20250626
    assert policies["L99905"].contractors == (("CGS Administrators, LLC", "DME MAC"),
                                              ("Noridian Healthcare Solutions, LLC", "DME MAC"))
    assert policies["L99901"].row > 1


def test_index_without_a_title_column_is_refused():
    with pytest.raises(IngestError, match="missing column.*title"):
        load_mcd_index(FIXTURES / "malformed" / "documents_latest_missing_title.csv")


def test_contractor_cells():
    assert parse_contractors("Palmetto GBA\n(MAC - Part A, MAC - Part B)") == (
        ("Palmetto GBA", "MAC - Part A"), ("Palmetto GBA", "MAC - Part B"))
    assert parse_contractors("") == ()


@pytest.mark.shared_data
def test_the_real_index_loads_every_row(tmp_path):
    if not SHARED_INDEX.is_dir():
        pytest.skip(f"{SHARED_INDEX} is absent")
    report = write_release(tmp_path, load_mcd_index(SHARED_INDEX))
    assert report.version == "2025-08" and report.rows == 3133 and report.rejected == 0
    store = ReferenceStore(tmp_path)
    pva = store.search_policy_titles('"percutaneous" "vertebral" "augmentation"')
    assert {"L38201", "L33569"} <= {s.fact.policy_id for s in pva}


# ---------------------------------------------------------------- the project's corpora

def test_ncd_corpus_has_thirty_ncds_with_codes_and_passages():
    parsed = load_ncd_corpus(CORPORA)
    items = list(parsed.items)
    assert not [i for i in items if isinstance(i, RowError)]
    ncds = [i for i in items if isinstance(i, CoveragePolicy)]
    assert len(ncds) >= 30
    assert all(n.doc_type == "NCD" and n.effective_date and n.attributes["codes"] and n.summary for n in ncds)
    assert {n.policy_id for n in ncds} >= {"150.13", "20.32", "210.14"}
    passages = ncd_passages(items, parsed.version)
    assert len(passages) == len(ncds) and all(p.kind == "coverage" and p.codes for p in passages)


def test_ncd_corpus_rejects_bad_rows(tmp_path):
    (tmp_path / "ncds.jsonl").write_text(
        '{"section": "150.13", "title": "T", "effective_date": "2016-12-07", "codes": ["0275T"], "summary": "S"}\n'
        '{"section": "abc", "title": "T", "effective_date": "2016-12-07", "codes": ["0275T"], "summary": "S"}\n'
        '{"section": "20.4", "title": "T", "effective_date": "2018-02-31", "codes": ["33249"], "summary": "S"}\n'
        'not json\n')
    errors = [i for i in load_ncd_corpus(tmp_path).items if isinstance(i, RowError)]
    assert [e.line for e in errors] == [2, 3, 4]


def test_mac_table_names_ohio_cgs_j15_and_every_state_twice():
    rows = [r for r in load_mac_jurisdictions(CORPORA).items]
    assert not [r for r in rows if isinstance(r, RowError)]
    ohio = {(r.mac_type, r.jurisdiction, r.contractor) for r in rows if r.state == "OH"}
    assert ohio == {("A/B MAC", "J15", "CGS Administrators, LLC"), ("DME MAC", "DME B", "CGS Administrators, LLC")}
    states = {r.state for r in rows}
    assert len(states) == 56 and len(rows) == 112
