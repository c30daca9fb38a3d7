"""casepilot-ingest as a whole, run as a real subprocess: exit codes, --strict, the summary's counts, status."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.stores.catalog import Catalog
from rag.stores.schema import missing_datasets

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
FIVE_BAD_HCPCS = FIXTURES / "hcpcs" / "HCPC2099_APR_ANWEB_five_bad_rows.csv"
SUMMARY_COLUMNS = ("store", "dataset", "version", "rows", "malformed", "result", "seconds")

pytestmark = pytest.mark.store


def ingest(data_dir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The console script when installed (as a user runs it), else the module; this worktree's code either way."""
    script = Path(sys.executable).with_name("casepilot-ingest")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "ingest.cli"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    env.pop("CASEPILOT_DATA_DIR", None)
    return subprocess.run([*command, "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          check=False, env=env, timeout=timeout, cwd=REPO)


def summary(result: subprocess.CompletedProcess) -> dict[tuple[str, str], dict[str, str]]:
    """The rows of the summary table, keyed by (store, dataset)."""
    rows = {}
    for line in result.stderr.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == len(SUMMARY_COLUMNS) and cells[0] in ("reference", "passages"):
            row = dict(zip(SUMMARY_COLUMNS, cells))
            rows[(row["store"], row["dataset"])] = row
    return rows


def said(result: subprocess.CompletedProcess) -> str:
    """stderr with the terminal's line wrapping undone."""
    return " ".join(result.stderr.split())


def test_malformed_hcpcs_rows_are_counted_in_the_summary_and_the_catalog(tmp_path):
    result = ingest(tmp_path, "--max-rejected-share", "0.1", "hcpcs", "--no-lay-terms", str(FIVE_BAD_HCPCS))
    assert result.returncode == 0, result.stderr
    row = summary(result)[("reference", "hcpcs")]
    assert (row["version"], row["rows"], row["malformed"]) == ("2099-04", "95", "5")
    assert summary(result)[("passages", "hcpcs")]["rows"] == "95"
    release = Catalog(tmp_path).active("reference")["hcpcs"]
    assert (release.rows, release.rejected_rows) == (95, 5)
    for line in (97, 98, 99, 100, 101):
        assert f"five_bad_rows.csv:{line}:" in result.stderr.replace("\n", "")


def test_strict_fails_on_the_first_malformed_row_and_activates_nothing(tmp_path):
    result = ingest(tmp_path, "--strict", "hcpcs", "--no-lay-terms", str(FIVE_BAD_HCPCS))
    assert result.returncode == 2
    assert "five_bad_rows.csv:97" in result.stderr and "strict" in result.stderr
    assert "Traceback" not in result.stderr
    assert Catalog(tmp_path).active("reference") == {} and Catalog(tmp_path).active("passages") == {}
    assert not list((tmp_path / "reference").rglob("*.sqlite"))


def test_status_lists_what_a_load_activated(tmp_path):
    mue = tmp_path / "MCR_MUE_PractitionerServices_Eff_2099.csv"
    mue.write_text('"HCPCS/CPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n'
                   "J1885,8,3 Date of Service Edit: Clinical,Prescribing Information\n"
                   "22514,1,2 Date of Service Edit: Policy,Anatomic Consideration\n")
    loaded = ingest(tmp_path / "data", "mue", str(mue), "--version", "2099Q1")
    assert loaded.returncode == 0, loaded.stderr
    assert summary(loaded)[("reference", "mue_practitioner")]["malformed"] == "0"
    status = ingest(tmp_path / "data", "status")
    assert status.returncode == 0
    line = next(line for line in status.stderr.splitlines() if "mue_practitioner" in line)
    cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
    assert cells[:4] == ["reference", "mue_practitioner", "2099Q1 *", "2"]  # "*": the active release
    # what is not loaded: one line per dataset with its title, then how to load them (issue 13)
    assert "mue_practitioner" not in status.stderr.split("Not loaded")[1]
    assert re.search(r"^  ptp_practitioner +Medicare NCCI PTP edits, practitioner services$", status.stderr, re.M)
    assert "cpt_licensed" not in status.stderr  # the user's own licence file is never 'missing'
    assert "casepilot-ingest fetch" in status.stderr and "../shared/data" in status.stderr
    empty = ingest(tmp_path / "empty", "status")
    assert empty.returncode == 0 and "2099Q1" not in empty.stderr
    total = len(missing_datasets(()))
    assert f"Not loaded ({total} of {total} datasets)" in empty.stderr


@pytest.mark.parametrize("args, message", [
    (["hcpcs", "missing-HCPC2099_ANWEB.txt"], "file not found"),
    (["hcpcs", str(FIXTURES / "hcpcs" / "not_hcpcs.txt"), "--version", "2099"], "not a CMS HCPCS ANWEB file"),
    (["ptp", str(FIXTURES / "ncci" / "not_ptp.txt"), "--version", "2099Q1"], "not a CMS PTP edit file"),
])
def test_a_file_that_cannot_be_loaded_exits_2_naming_it_without_a_trace(tmp_path, args, message):
    result = ingest(tmp_path, *args)
    assert result.returncode == 2
    assert message in said(result) and Path(args[1]).name in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "catalog.json").exists() or Catalog(tmp_path).active("reference") == {}


def test_a_usage_error_exits_2(tmp_path):
    result = ingest(tmp_path, "ptp", str(FIXTURES / "ncci" / "ptp_malformed.txt"))  # no --version
    assert result.returncode == 2 and "--version" in result.stderr


def test_rerunning_the_same_file_reports_it_unchanged(tmp_path):
    first = ingest(tmp_path, "--max-rejected-share", "0.5", "ptp", str(FIXTURES / "ncci" / "ptp_malformed.txt"),
                   "--version", "2099Q1")
    assert first.returncode == 0, first.stderr
    again = ingest(tmp_path, "--max-rejected-share", "0.5", "ptp", str(FIXTURES / "ncci" / "ptp_malformed.txt"),
                   "--version", "2099Q1")
    row = summary(again)[("reference", "ptp_practitioner")]
    assert again.returncode == 0 and row["result"] == "unchanged" and (row["rows"], row["malformed"]) == ("4", "4")
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    assert [h["version"] for h in catalog["reference"]["ptp_practitioner"]["history"]] == ["2099Q1"]


def mue_csv(path: Path, rows: int) -> Path:
    lines = ['"HCPCS/CPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale']
    lines += [f"J{1000 + i},4,3 Date of Service Edit: Clinical,Prescribing Information" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_release_that_would_drop_most_rows_is_refused_with_exit_3_unless_forced(tmp_path):
    full = mue_csv(tmp_path / "MCR_MUE_PractitionerServices_full.csv", 200)
    assert ingest(tmp_path / "data", "mue", str(full), "--version", "2099Q1").returncode == 0
    tiny = mue_csv(tmp_path / "MCR_MUE_PractitionerServices_tiny.csv", 1)
    refused = ingest(tmp_path / "data", "mue", str(tiny), "--version", "2099Q2")
    assert refused.returncode == 3, refused.stderr
    assert "drop of 99.5%" in said(refused) and "Traceback" not in refused.stderr
    assert summary(refused)[("reference", "mue_practitioner")]["result"] == "refused"
    active = Catalog(tmp_path / "data").active("reference")["mue_practitioner"]
    assert (active.version, active.rows) == ("2099Q1", 200)
    looser = ingest(tmp_path / "data", "--max-row-drop", "0.999", "mue", str(tiny), "--version", "2099Q2")
    assert looser.returncode == 0, looser.stderr
    assert Catalog(tmp_path / "data").active("reference")["mue_practitioner"].rows == 1
    forced = ingest(tmp_path / "data", "--force", "mue", str(full), "--version", "2099Q3")
    assert forced.returncode == 0 and summary(forced)[("reference", "mue_practitioner")]["result"] == "replaced 2099Q2"


def test_a_mue_file_with_the_wrong_header_exits_2(tmp_path):
    wrong = tmp_path / "MCR_MUE_PractitionerServices_wrong.csv"
    wrong.write_text("HCPCS Code,Units,Status\nJ1885,8,3 Date of Service Edit: Clinical\n")
    result = ingest(tmp_path / "data", "mue", str(wrong), "--version", "2099Q1")
    assert result.returncode == 2 and "not the CMS MUE layout" in said(result)
    assert not (tmp_path / "data" / "catalog.json").exists()


# ---------------------------------------------------------------- a release is whole, and a killed run is cleaned up

HOLD_SHARD = """
import sys
from rag.stores.vectors import EdgeVectorStore
store = EdgeVectorStore(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
store.close()
"""


def test_reference_rows_and_passages_activate_together_or_not_at_all(tmp_path):
    data = tmp_path / "data"
    first = ingest(data, "--max-rejected-share", "0.1", "hcpcs", "--no-lay-terms", str(FIVE_BAD_HCPCS))
    assert first.returncode == 0, first.stderr
    catalog = Catalog(data)
    before = (catalog.active("reference")["hcpcs"], catalog.active("passages")["hcpcs"])
    # A real reason for the passage write to fail: the embedded shard is open in another process.
    holder = subprocess.Popen([sys.executable, "-c", HOLD_SHARD, str(data / "vectors" / "edge")], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert holder.stdout.readline().strip() == "holding"
        busy = ingest(data, "--max-rejected-share", "0.1", "hcpcs", "--no-lay-terms", str(FIVE_BAD_HCPCS),
                      "--version", "2099-07")
    finally:
        holder.communicate("", timeout=60)
    assert busy.returncode == 2 and "open in another process" in said(busy)
    assert "Nothing from the failed file was activated" in said(busy)
    assert summary(busy)[("reference", "hcpcs")]["result"] == "not activated"
    assert (catalog.active("reference")["hcpcs"], catalog.active("passages")["hcpcs"]) == before
    assert not (data / "reference" / "hcpcs" / "2099-07.sqlite").exists()
    assert not list((data / "reference").rglob("*.partial"))
    # Once the shard is free, the same load activates both.
    again = ingest(data, "--max-rejected-share", "0.1", "hcpcs", "--no-lay-terms", str(FIVE_BAD_HCPCS),
                   "--version", "2099-07")
    assert again.returncode == 0, again.stderr
    assert {catalog.active(section)["hcpcs"].version for section in ("reference", "passages")} == {"2099-07"}
    assert "removed 95" in summary(again)[("passages", "hcpcs")]["result"]  # the 2099-04 points


PTP_HEADER = ("CPT codes and descriptions only are copyright 2025 American Medical Association.\n\n"
              "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\tModifier\t"
              "PTP Edit Rationale\n")


def big_ptp_zip(path: Path, parts: int, rows: int) -> Path:
    """Invented edits, enough that the worker processes are still parsing when the ingest is killed."""
    import zipfile

    body = "".join(f"{10000 + i // 50:05d}\t{20000 + i % 50:05d}\t\t20200101\t*\t1\tMutually exclusive\n"
                   for i in range(rows))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for part in range(parts):
            archive.writestr(f"ccipra-v999r0-f{part + 1}.txt", PTP_HEADER + body)
    return path


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(condition, seconds: float) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker processes from /proc (Linux)")
def test_a_killed_ingest_leaves_no_workers_and_the_next_run_removes_its_files(tmp_path):
    import signal

    data = tmp_path / "data"
    archive = big_ptp_zip(tmp_path / "ccipra-v999r0.zip", parts=4, rows=300_000)
    script = Path(sys.executable).with_name("casepilot-ingest")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "ingest.cli"]
    run = subprocess.Popen([*command, "--data-dir", str(data), "ptp", str(archive), "--version", "2099Q1"],
                           env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    folder = data / "reference" / "ptp_practitioner"
    try:
        # Premise: killed while worker processes are staging parts beside the release's partial file.
        assert wait_for(lambda: any(folder.glob(".*.stage/part-*")) and len(children(run.pid)) >= 2, 120)
        workers = children(run.pid)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert wait_for(lambda: not any(alive(pid) for pid in workers), 3), "workers outlived their parent"
    assert list(folder.glob(".2099Q1.sqlite.partial")) and list(folder.glob(".2099Q1.sqlite.stage"))
    # The next run (here: another dataset) removes what the killed one left.
    mue = mue_csv(tmp_path / "MCR_MUE_PractitionerServices_next.csv", 3)
    nxt = ingest(data, "mue", str(mue), "--version", "2099Q1")
    assert nxt.returncode == 0, nxt.stderr
    assert ".2099Q1.sqlite.partial" in said(nxt)
    assert not list(folder.glob(".*.partial")) and not list(folder.glob(".*.stage"))
    assert "ptp_practitioner" not in Catalog(data).active("reference")
