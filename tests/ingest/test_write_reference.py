"""The reference write step: atomic release switch, idempotent re-runs, strict mode, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders.ncci import load_mue, load_ptp_txt
from ingest.records import IngestError, ParsedRelease, RowError
from ingest.write_reference import (
    ReleaseLimits,
    ReleaseRefused,
    StrictModeError,
    write_release,
)
from rag.stores.catalog import Catalog
from rag.snapshot import DataSource
from rag.stores.reference import ReferenceStore
from rag.stores.schema import MueLimit, PtpEdit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ncci"
pytestmark = pytest.mark.store
# The malformed fixtures are half bad rows on purpose: loading them needs limits that allow it.
ANY_SHARE = ReleaseLimits(max_row_drop=1.0, max_rejected_share=1.0)


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
    first = write_release(tmp_path, load_ptp_txt(FIXTURES / "ptp_malformed.txt", "2026Q3"), limits=ANY_SHARE)
    path = tmp_path / "reference" / "ptp_practitioner" / "2026Q3.sqlite"
    mtime = path.stat().st_mtime_ns
    again = write_release(tmp_path, load_ptp_txt(FIXTURES / "ptp_malformed.txt", "2026Q3"), limits=ANY_SHARE)
    assert again.skipped and again.rows == first.rows == 4 and again.rejected == first.rejected == 4
    assert path.stat().st_mtime_ns == mtime
    forced = write_release(tmp_path, load_ptp_txt(FIXTURES / "ptp_malformed.txt", "2026Q3"), force=True)
    assert not forced.skipped and forced.rows == 4
    assert len(ReferenceStore(tmp_path).ptp_for_code("22511", 1)[0]) == 2


def test_malformed_rows_are_counted_and_strict_mode_fails_without_a_trace(tmp_path):
    report = write_release(tmp_path, load_mue(FIXTURES / "mue_malformed.csv", "2026Q3"), limits=ANY_SHARE)
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
    write_release(tmp_path, load_ptp_txt(FIXTURES / "ptp_malformed.txt", "2026Q3"), limits=ANY_SHARE)
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
    report = write_release(tmp_path / "data", parsed, limits=ANY_SHARE)
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


# ---------------------------------------------------------------- a bad file does not replace a good table

def mue_rows(count: int) -> list[MueLimit]:
    return [MueLimit(f"J{1000 + i}", 4, 3, "Prescribing Information", i + 1) for i in range(count)]


def mue_release(version: str, items) -> ParsedRelease:
    return ParsedRelease("mue_practitioner", version, f"mue-{version}.csv", items, f"sha-{version}-{len(items)}")


def active_state(data_dir: Path) -> tuple:
    """What a reader of the active MUE release sees: the catalog entry and the bytes of its file."""
    active = Catalog(data_dir).active("reference")["mue_practitioner"]
    path = data_dir / "reference" / "mue_practitioner" / f"{active.version}.sqlite"
    return active, path.read_bytes()


def test_a_release_that_drops_most_of_the_active_rows_is_refused_and_nothing_changes(tmp_path):
    write_release(tmp_path, mue_release("2026Q2", mue_rows(100)))
    before = active_state(tmp_path)
    with pytest.raises(ReleaseRefused, match=r"mue-2026Q3.csv: refused: 1 rows would replace the 100 rows of "
                                             r"the active release 2026Q2 .* drop of 99.0%"):
        write_release(tmp_path, mue_release("2026Q3", mue_rows(1)))
    assert active_state(tmp_path) == before
    assert not (tmp_path / "reference" / "mue_practitioner" / "2026Q3.sqlite").exists()
    assert partial_files(tmp_path) == []
    assert ReferenceStore(tmp_path).mue("J1050")[0].release.version == "2026Q2"
    # The same version replaced in place is checked too, and leaves its file as it was.
    with pytest.raises(ReleaseRefused):
        write_release(tmp_path, mue_release("2026Q2", mue_rows(10)), limits=ReleaseLimits(max_row_drop=0.5))
    assert active_state(tmp_path) == before
    # Within the limit, and with force, the new release loads.
    assert write_release(tmp_path, mue_release("2026Q3", mue_rows(85))).replaced == "2026Q2"
    forced = write_release(tmp_path, mue_release("2026Q4", mue_rows(1)), force=True)
    assert forced.replaced == "2026Q3" and active_state(tmp_path)[0].rows == 1


def test_a_file_whose_rows_are_mostly_malformed_is_refused(tmp_path):
    write_release(tmp_path, release("2026Q1", edits(0)))
    before = Catalog(tmp_path).active("reference")
    one_good_of_three = [edits(1)[0], RowError("ptp.txt", 2, "not a code pair"), RowError("ptp.txt", 3, "bad")]
    with pytest.raises(ReleaseRefused, match=r"refused: 2 of 3 rows \(66.7%\) are malformed, more than the 1.0%"):
        write_release(tmp_path, release("2026Q2", one_good_of_three))
    assert Catalog(tmp_path).active("reference") == before
    assert not (tmp_path / "reference" / "ptp_practitioner" / "2026Q2.sqlite").exists()
    # The share is a setting: a looser limit lets the same rows through.
    loose = write_release(tmp_path, release("2026Q2", one_good_of_three),
                          limits=ReleaseLimits(max_row_drop=1.0, max_rejected_share=0.7))
    assert (loose.rows, loose.rejected, loose.replaced) == (1, 2, "2026Q1")


def test_a_mue_csv_with_the_wrong_header_is_an_error_not_a_release(tmp_path):
    write_release(tmp_path, mue_release("2026Q2", mue_rows(100)))
    before = active_state(tmp_path)
    wrong = tmp_path / "MCR_MUE_PractitionerServices_wrong_header.csv"
    wrong.write_text("HCPCS Code,Units,Status\nJ1885,8,3 Date of Service Edit: Clinical\n")
    with pytest.raises(IngestError, match=r"wrong_header.csv:1: the header row is not the CMS MUE layout"):
        write_release(tmp_path, load_mue(wrong, "2026Q3"), force=True)
    assert active_state(tmp_path) == before and partial_files(tmp_path) == []
