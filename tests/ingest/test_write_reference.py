"""The reference write step: atomic release switch, idempotent re-runs, strict mode, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders.ncci import load_mue, load_ptp_txt
from ingest.records import IngestError, ParsedRelease, RowError
from ingest.write_reference import StrictModeError, write_release
from rag.stores.catalog import Catalog
from rag.snapshot import DataSource
from rag.stores.reference import ReferenceStore
from rag.stores.schema import PtpEdit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ncci"
pytestmark = pytest.mark.store


def edits(version_marker: int) -> list[PtpEdit]:
    return [PtpEdit("22511", "22514", False, 20150101, 99991231, version_marker, "Mutually exclusive", 1),
            PtpEdit("20610", "76942", False, 20160101, 99991231, 1, "Standards of practice", 2)]


def release(version: str, items, sha: str = "") -> ParsedRelease:
    return ParsedRelease("ptp_practitioner", version, f"fixture-{version}", items, sha)


def partial_files(data_dir: Path) -> list[Path]:
    return list(data_dir.rglob("*.partial"))


def test_new_quarter_replaces_the_active_one_and_readers_switch(tmp_path):
    source = DataSource(tmp_path)
    write_release(tmp_path, release("2026Q1", edits(0)))
    before = source.load()
    assert before.reference.ptp_pair("22514", "22511")[0].fact.modifier_indicator == 0
    report = write_release(tmp_path, release("2026Q2", edits(1)))
    assert report.replaced == "2026Q1"
    # A snapshot taken before the switch keeps reading the old quarter; the data source sees the change.
    assert before.reference.ptp_pair("22514", "22511")[0].release.version == "2026Q1"
    assert source.changed(before)
    after = source.load(before)
    assert after.version != before.version and not source.changed(after)
    found = after.reference.ptp_pair("22511", "22514")
    assert [(s.fact.modifier_indicator, s.release.version) for s in found] == [(1, "2026Q2")]
    history = [r.version for r in Catalog(tmp_path).history("reference", "ptp_practitioner")]
    assert history == ["2026Q1", "2026Q2"]


def test_rerunning_the_same_file_writes_nothing(tmp_path):
    first = write_release(tmp_path, load_ptp_txt(FIXTURES / "ptp_malformed.txt", "2026Q3"))
    path = tmp_path / "reference" / "ptp_practitioner" / "2026Q3.sqlite"
    mtime = path.stat().st_mtime_ns
    again = write_release(tmp_path, load_ptp_txt(FIXTURES / "ptp_malformed.txt", "2026Q3"))
    assert again.skipped and again.rows == first.rows == 4 and again.rejected == first.rejected == 4
    assert path.stat().st_mtime_ns == mtime
    forced = write_release(tmp_path, load_ptp_txt(FIXTURES / "ptp_malformed.txt", "2026Q3"), force=True)
    assert not forced.skipped and forced.rows == 4
    assert len(ReferenceStore(tmp_path).ptp_for_code("22511", 1)[0]) == 2


def test_malformed_rows_are_counted_and_strict_mode_fails_without_a_trace(tmp_path):
    report = write_release(tmp_path, load_mue(FIXTURES / "mue_malformed.csv", "2026Q3"))
    assert (report.rows, report.rejected) == (2, 3)
    assert report.errors[0].line > 0 and "mue_malformed.csv" in report.errors[0].file
    with pytest.raises(StrictModeError, match=r"mue_malformed.csv:\d+: malformed row"):
        write_release(tmp_path, load_mue(FIXTURES / "mue_malformed.csv", "2026Q4"), strict=True)
    assert partial_files(tmp_path) == []
    assert not (tmp_path / "reference" / "mue_practitioner" / "2026Q4.sqlite").exists()
    assert Catalog(tmp_path).active("reference")["mue_practitioner"].version == "2026Q3"


def test_a_load_that_dies_midway_leaves_the_previous_release_serving(tmp_path):
    write_release(tmp_path, release("2026Q1", edits(0)))

    def dies_after_one_row():
        yield edits(1)[0]
        raise IngestError("fixture.txt", "disk went away", 2)

    with pytest.raises(IngestError, match="disk went away"):
        write_release(tmp_path, release("2026Q2", dies_after_one_row()))
    assert partial_files(tmp_path) == []
    store = ReferenceStore(tmp_path)
    assert [s.release.version for s in store.ptp_pair("22511", "22514")] == ["2026Q1"]
    assert not (tmp_path / "reference" / "ptp_practitioner" / "2026Q2.sqlite").exists()


def test_a_file_with_only_bad_rows_is_an_error(tmp_path):
    items = [RowError("bad.txt", 7, "not a code pair")]
    with pytest.raises(IngestError, match="no ptp rows could be read"):
        write_release(tmp_path, release("2026Q1", items))
    with pytest.raises(IngestError, match="unknown dataset"):
        write_release(tmp_path, ParsedRelease("nonsense", "1", "x", []))


def test_ptp_queries_respect_dates_and_indicators(tmp_path):
    write_release(tmp_path, load_ptp_txt(FIXTURES / "ptp_malformed.txt", "2026Q3"))
    store = ReferenceStore(tmp_path)
    deleted = store.ptp_pair("22510", "22511")[0].fact
    assert deleted.deleted and deleted.active_on(20190601) and not deleted.active_on(20210101)
    page, total = store.ptp_for_code("22511", 1, active_on=20210101)
    assert total == 1 and page[0].fact.column2 == "22514"
    page, total = store.ptp_for_code("22511", 1, modifier_indicator=0)
    assert total == 1 and page[0].fact.column2 == "22510"
    assert store.in_ncci_tables("36415") is not None and store.in_ncci_tables("99999") is None


def ptp_zip_of_two_parts(tmp_path: Path) -> Path:
    import zipfile

    text = (FIXTURES / "ptp_malformed.txt").read_bytes()
    archive = tmp_path / "ccipra-v999r0.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ccipra-v999r0-f1.txt", text)
        z.writestr("ccipra-v999r0-f2.txt", text.replace(b"99213\t36415", b"99214\t36416"))
    return archive


def test_parts_staged_in_worker_processes_load_as_one_release(tmp_path):
    parsed = load_ptp_txt(ptp_zip_of_two_parts(tmp_path), "2099Q1")
    assert parsed.parts and len(parsed.parts.jobs) == 2  # the parallel staged path, not the serial one
    report = write_release(tmp_path / "data", parsed)
    assert (report.rows, report.rejected) == (8, 8)
    assert report.errors[0].file.endswith("!ccipra-v999r0-f1.txt") and report.errors[0].line == 10
    store = ReferenceStore(tmp_path / "data")
    (first,) = store.ptp_pair("99213", "36415")
    (second,) = store.ptp_pair("99214", "36416")
    assert first.fact.row < second.fact.row  # each part keeps its own rows, so a citation names part and line
    expected = {(r.column1, r.column2, r.rationale) for r in serial_rows(parsed.source_file)}
    loaded, total = store.ptp_for_code("22511", column=1)
    assert total == 4 and {(e.fact.column1, e.fact.column2, e.fact.rationale) for e in loaded} <= expected
    assert not list((tmp_path / "data").rglob("*.stage")) and not partial_files(tmp_path / "data")


def serial_rows(source: str) -> list[PtpEdit]:
    """The same file read by the plain iterator: the rationale texts the staged load must have interned."""
    return [item for item in load_ptp_txt(Path(source), "serial") if not isinstance(item, RowError)]


def test_strict_mode_fails_in_the_worker_and_leaves_nothing(tmp_path):
    data = tmp_path / "data"
    with pytest.raises(StrictModeError, match=r"ccipra-v999r0-f1.txt:10: malformed row"):
        write_release(data, load_ptp_txt(ptp_zip_of_two_parts(tmp_path), "2099Q1"), strict=True)
    assert not Catalog(data).active("reference")
    assert not list(data.rglob("*.sqlite")) and not list(data.rglob("*.stage")) and not partial_files(data)
