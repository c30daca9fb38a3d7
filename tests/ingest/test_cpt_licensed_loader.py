"""Licensed CPT descriptor loader. Every descriptor here is invented: no AMA CPT text is ever committed."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders.cpt_licensed import load_cpt_descriptors
from ingest.records import IngestError, RowError
from rag.stores.schema import CodeRecord

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cpt_licensed" / "cpt_descriptors_malformed.tsv"
pytestmark = pytest.mark.unit


def test_good_lines_load_and_bad_lines_become_row_errors_with_line_numbers():
    parsed = load_cpt_descriptors(FIXTURE, "2099")
    assert (parsed.dataset, parsed.version, parsed.source_file) == ("cpt_licensed", "2099", str(FIXTURE))
    items = list(parsed)
    records = {i.code: i for i in items if isinstance(i, CodeRecord)}
    errors = {i.line: i.message for i in items if isinstance(i, RowError)}
    assert list(records) == ["99901", "1234F", "0999T", "99904"]
    assert records["99901"].long_description == "Invented descriptor alpha, written for parser tests"
    assert records["99901"].row == 4  # after two comment lines and the header
    assert records["99901"].code_set == "CPT"
    assert [records[c].attributes["cpt_category"] for c in ("99901", "1234F", "0999T")] == ["I", "II", "III"]
    assert records["99904"].long_description.endswith("café visit")  # latin-1 byte 0xE9
    assert sorted(errors) == [7, 8, 9, 11, 12]
    assert "'9990' is not a CPT code" in errors[7]
    assert "no tab" in errors[8]
    assert "'ABCDE' is not a CPT code" in errors[9]
    assert "empty descriptor" in errors[11]
    assert "first on line 4" in errors[12]
    assert all(e.file == str(FIXTURE) for e in items if isinstance(e, RowError))


def test_utf8_without_header_or_comments(tmp_path):
    path = tmp_path / "descriptors.txt"
    path.write_text("\ufeff0001F\tInvented measure – with an en dash\n99999\tInvented descriptor omega\n",
                    encoding="utf-8")
    items = list(load_cpt_descriptors(path, "2099"))
    assert [(i.code, i.row) for i in items] == [("0001F", 1), ("99999", 2)]
    assert items[0].long_description == "Invented measure – with an en dash"


def test_a_file_with_no_valid_line_raises_naming_file_and_line(tmp_path):
    path = tmp_path / "notes.tsv"
    path.write_text("# a comment\nthis is prose, not a descriptor file\nneither\tis this\n")
    with pytest.raises(IngestError) as error:
        load_cpt_descriptors(path, "2099")
    assert error.value.file == str(path)
    assert error.value.line == 3  # line 2 is taken for a header; line 3 is the first bad row
    assert str(error.value).startswith(f"{path}:3: ")
    with pytest.raises(IngestError, match="file not found"):
        load_cpt_descriptors(tmp_path / "absent.tsv", "2099")
    empty = tmp_path / "empty.tsv"
    empty.write_text("# only a comment\n")
    with pytest.raises(IngestError, match="no CPT descriptor lines"):
        load_cpt_descriptors(empty, "2099")


def test_no_tracked_data_file_is_a_cpt_descriptor_file():
    """Licensed descriptors are never committed: no data file the repository tracks outside the test fixtures
    (parser inputs, invented) loads as a descriptor file, and the descriptor fixture's are all invented."""
    import subprocess

    repo = FIXTURE.parents[3]
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: no tracked-file list to check")
    tracked = [repo / name for name in listed.stdout.decode().split("\0") if name]
    fixtures = FIXTURE.parents[1]
    data_files = [path for path in tracked if path.suffix.lower() in {".tsv", ".txt", ".csv", ".jsonl"}
                  and fixtures not in path.parents]
    loaded = []
    for path in data_files:
        try:
            records = [i for i in load_cpt_descriptors(path, "check") if isinstance(i, CodeRecord)]
        except IngestError:
            continue
        loaded.append((str(path.relative_to(repo)), len(records)))
    assert loaded == [], f"tracked files that load as CPT descriptors: {loaded}"
    descriptors = [i.long_description for i in load_cpt_descriptors(FIXTURE, "2099") if isinstance(i, CodeRecord)]
    assert descriptors and all(d.startswith("Invented ") for d in descriptors), descriptors
