"""`casepilot-ingest fetch` against a CMS-like site on loopback: download pages and zips built here from the
format excerpts in ../shared/data (skipped when absent) and the project's PPRRVU and add-on fixtures."""

from __future__ import annotations

import importlib.util
import io
import re
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.fetch.manifest import MANIFEST
from ingest.session import HCPCS_LAY_TERMS_ENV
from rag.stores.catalog import Catalog
from rag.stores.reference import ReferenceStore

pytestmark = pytest.mark.store

EXCERPTS = "ncci_hcpcs_raw_format_excerpts_2026q3"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PTP_PAGE = "/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/medicare-ncci-procedure-procedure-ptp-edits"
MUE_PAGE = "/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/medicare-ncci-medically-unlikely-edits"
AOC_PAGE = "/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/medicare-ncci-add-code-edits"
HCPCS_PAGE = "/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update"
RVU_PAGE = "/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
MCD_PAGE = "/medicare-coverage-database/downloads/downloads.aspx"
NOT_MCD = ["ptp_practitioner", "ptp_hospital", "mue_practitioner", "mue_hospital", "mue_dme", "hcpcs", "addon",
           "mpfs"]


@pytest.fixture(autouse=True)
def _no_hcpcs_lay_terms(monkeypatch):
    """The HCPCS file served here is CMS's format excerpt (35 modifiers): it lacks every code of the project's
    lay-term table, whose rows would each be a malformed row of the release."""
    monkeypatch.setenv(HCPCS_LAY_TERMS_ENV, "")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _page(title: str, hrefs: list[str]) -> bytes:
    links = "\n".join(f'<li><a href="{h}">{h.rsplit("/", 1)[-1]}</a></li>' for h in hrefs)
    return f"<html><head><title>{title}</title></head><body><ul>{links}</ul></body></html>".encode()


def _ptp_parts(text: str, parts: int) -> list[bytes]:
    """The excerpt's header lines (to the first code pair) and its rows dealt into ``parts`` files."""
    lines = text.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line[:5].strip() and "\t" in line and line.split("\t")[1].strip()
                 and line[0].isdigit())
    header, rows = lines[:first], lines[first:]
    size = -(-len(rows) // parts)
    return ["".join(header + rows[i * size:(i + 1) * size]).encode("latin-1") for i in range(parts)]


@dataclass
class Site:
    """Files and pages served by path; ``drop_once`` paths are cut off half-way on their first full GET."""

    files: dict[str, bytes] = field(default_factory=dict)
    drop_once: set[str] = field(default_factory=set)
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, Range header)


def _handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _serve(self, body: bool) -> None:
            path = self.path.split("?", 1)[0]
            byte_range = self.headers.get("Range", "")
            site.log.append((self.command, path, byte_range))
            data = site.files.get(path)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = 0
            if byte_range.startswith("bytes="):
                start = int(byte_range[6:].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", "text/html" if path.endswith((".aspx", "s")) or "." not in path
                             else "application/zip")
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if not body:
                return
            if path in site.drop_once and not byte_range:
                site.drop_once.discard(path)
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # the peer sees the body end early
                return
            self.wfile.write(data[start:])

        def do_GET(self) -> None:
            self._serve(True)

        def do_HEAD(self) -> None:
            self._serve(False)

    return Handler


@pytest.fixture()
def cms(shared_data):
    """A CMS-like site: NCCI PTP (2026Q3 in two parts, 2026Q2), MUE x3, HCPCS, add-on edits, PPRRVU, MCD."""
    excerpts = shared_data / EXCERPTS
    if not excerpts.is_dir():
        pytest.skip(f"{excerpts} is absent: the CMS format excerpts live only in ../shared/data")
    ptp_text = (excerpts / "ccipra-v322r0-f1.excerpt.txt").read_text("latin-1")
    mue = (excerpts / "MCR_MUE_PractitionerServices_Eff_07-01-2026.excerpt.csv").read_bytes()
    hcpcs = (excerpts / "HCPC2026_OCT_ANWEB.excerpt.csv").read_bytes()
    site = Site()
    hrefs: dict[str, list[str]] = {PTP_PAGE: [], MUE_PAGE: []}
    for quarter, version in (("2026q3", "v322r0"), ("2026q2", "v321r0")):
        for setting, prefix in (("practitioner", "ccipra"), ("hospital", "ccioph")):
            for part, data in enumerate(_ptp_parts(ptp_text, 2), start=1):
                name = f"medicare-ncci-{quarter}-{setting}-ptp-edits-{prefix}-{version}-f{part}.zip"
                site.files[f"/files/zip/{name}"] = _zip({f"{prefix}-{version}-f{part}.TXT": data})
                hrefs[PTP_PAGE].append(f"/license/ama?file=/files/zip/{name}")
    for kind, member in (("practitioner-services", "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"),
                         ("facility-outpatient-hospital-services", "MCR_MUE_OutpatientHospitalServices_Eff_07-01-2026.csv"),
                         ("dme-supplier-services", "MCR_MUE_DMESupplierServices_Eff_07-01-2026.csv")):
        name = f"medicare-ncci-2026-q3-{kind}-mue-table.zip"
        site.files[f"/files/zip/{name}"] = _zip({member: mue})
        hrefs[MUE_PAGE].append(f"/license/ama?file=/files/zip/{name}")
    site.files["/files/zip/october-2026-alpha-numeric-hcpcs-file.zip"] = _zip({"HCPC2026_OCT_ANWEB.csv": hcpcs})
    site.files["/files/zip/add-code-edits-medicare-effective-07012026.zip"] = _zip(
        {"AOC_V2026Q3-MCR.csv": (FIXTURES / "addon" / "AOC_V2026Q3-MCR.csv").read_bytes()})
    site.files["/files/zip/rvu26c-updated-07-01-2026.zip"] = _zip(
        {"PPRRVU26_JUL.csv": (FIXTURES / "mpfs" / "PPRRVU26_JUL.csv").read_bytes(), "RVU26C.pdf": b"%PDF-1.4 readme"})
    mcd = _zip({"current_lcd_csv.zip": _zip({"lcd.csv": b"lcd_id,title\n" + b"1,fixture\n" * 200})})
    site.files["/medicare-coverage-database/downloads/exports/current_lcd.zip"] = mcd
    site.files["/medicare-coverage-database/downloads/exports/current_article.zip"] = mcd
    pages = {
        # The quarterly changes file sits beside the full tables on the real page; its name must not match.
        PTP_PAGE: _page("PTP", [*hrefs[PTP_PAGE],
                                "/files/zip/medicare-ncci-2026q3-practitioner-quarterly-additions-deletions-revisions-ptp.zip"]),
        MUE_PAGE: _page("MUE", hrefs[MUE_PAGE]),
        HCPCS_PAGE: _page("HCPCS", ["/files/zip/october-2026-alpha-numeric-hcpcs-file.zip"]),
        AOC_PAGE: _page("AOC", ["/files/zip/add-code-edits-medicare-effective-07012026.zip"]),
        RVU_PAGE: _page("RVU", [f"{RVU_PAGE}/rvu26c", f"{RVU_PAGE}/rvu26b"]),
        f"{RVU_PAGE}/rvu26c": _page("RVU26C", ["/files/zip/rvu26c-updated-07-01-2026.zip"]),
        # The MCD page links to another host (downloads.cms.gov): the base override must reach it too.
        MCD_PAGE: _page("MCD", ["https://downloads.cms.gov/medicare-coverage-database/downloads/exports/current_lcd.zip",
                                "https://downloads.cms.gov/medicare-coverage-database/downloads/exports/current_article.zip"]),
    }
    site.files.update(pages)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield site
    server.shutdown()
    server.server_close()


@pytest.fixture()
def quick_manifest(tmp_path) -> Path:
    """The project's manifest with short waits between attempts (the patterns are the real ones)."""
    text = MANIFEST.read_text().replace("backoff_seconds = 2.0", "backoff_seconds = 0.05")
    path = tmp_path / "sources.toml"
    path.write_text(text)
    return path


def fetch(data_dir: Path, site_url: str, manifest: Path, *extra: str) -> int:
    # the format excerpts hold a few malformed rows on purpose: allowed here, refused in a real quarter
    return main(["--data-dir", str(data_dir), "--max-rejected-share", "0.5", "fetch", "--base-url", site_url, "--manifest", str(manifest),
                 "--reference-only", *extra])


@pytest.mark.shared_data
def test_full_fetch_loads_every_source_and_reuses_the_cache(cms, quick_manifest, tmp_path, capsys):
    data = tmp_path / "data"
    assert fetch(data, cms.url, quick_manifest, "--only", *NOT_MCD) == 0
    err = capsys.readouterr().err
    # Not a terminal under pytest: plain progress lines, not bars.
    assert "fetch ptp_practitioner medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f1.zip: starting" in err
    assert "loading ptp_practitioner 2026Q3" in err
    store = ReferenceStore(data)
    releases = store.releases()
    assert {name: releases[name].version for name in NOT_MCD} == {
        "ptp_practitioner": "2026Q3", "ptp_hospital": "2026Q3", "mue_practitioner": "2026Q3",
        "mue_hospital": "2026Q3", "mue_dme": "2026Q3", "hcpcs": "2026-10", "addon": "2026Q3", "mpfs": "2026Q3"}
    assert releases["ptp_practitioner"].rows == 154  # both parts of the newest quarter, not the 2026Q2 ones
    edit = store.ptp_pair("0001A", "0591T")[0].fact
    assert (edit.effective_date, edit.deletion_date, edit.modifier_indicator) == (20220101, 20231231, 1)
    assert store.mue("0001U", "mue_dme")[0].fact.value == 1
    assert store.lookup_code("A1")[0].fact.code_set == "MODIFIER"
    assert store.mpfs("27130")[0].fact.global_days == "090"
    assert [s.fact.primary for s in store.addon_primaries("64484")] == ["64483"]
    downloaded = [p for p in cms.log if p[1].startswith("/files/zip/")]
    assert not any("2026q2" in path for _, path, _ in downloaded)

    cms.log.clear()
    assert fetch(data, cms.url, quick_manifest, "--only", *NOT_MCD) == 0
    assert not [p for p in cms.log if p[1].startswith("/files/zip/")], "cached zips were downloaded again"
    assert "unchanged" in capsys.readouterr().err


@pytest.mark.shared_data
def test_mcd_downloads_are_kept_when_the_loader_is_not_there(cms, quick_manifest, tmp_path, capsys):
    if importlib.util.find_spec("ingest.loaders.mcd") is not None:
        pytest.skip("ingest.loaders.mcd is present: its own tests cover loading the MCD exports")
    data = tmp_path / "data"
    assert fetch(data, cms.url, quick_manifest, "--only", "mcd") == 0
    err = capsys.readouterr().err
    assert "downloaded mcd current: downloaded, loader not available" in err
    folder = data / "downloads" / "mcd" / "current"
    assert sorted(p.name for p in folder.glob("*.zip")) == ["current_article.zip", "current_lcd.zip"]
    assert ("GET", "/medicare-coverage-database/downloads/exports/current_lcd.zip", "") in cms.log
    # An export CMS replaces under the same name is revalidated (HEAD), not downloaded again while unchanged.
    cms.log.clear()
    assert fetch(data, cms.url, quick_manifest, "--only", "mcd") == 0
    assert [m for m, p, _ in cms.log if p.endswith("current_lcd.zip")] == ["HEAD"]


@pytest.mark.shared_data
def test_quarter_picks_an_older_release(cms, quick_manifest, tmp_path):
    data = tmp_path / "data"
    assert fetch(data, cms.url, quick_manifest, "--only", "ptp_practitioner", "--quarter", "2026-q2") == 0
    assert ReferenceStore(data).releases()["ptp_practitioner"].version == "2026Q2"
    assert fetch(data, cms.url, quick_manifest, "--only", "ptp_practitioner", "--quarter", "2025Q4") == 3


@pytest.mark.shared_data
def test_a_dropped_download_resumes_with_a_range_request(cms, quick_manifest, tmp_path, capsys):
    part = "/files/zip/medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f1.zip"
    cms.drop_once.add(part)
    data = tmp_path / "data"
    assert fetch(data, cms.url, quick_manifest, "--only", "ptp_practitioner") == 0
    requests = [(method, byte_range) for method, path, byte_range in cms.log if path == part]
    half = len(cms.files[part]) // 2
    assert requests == [("GET", ""), ("GET", f"bytes={half}-")]
    assert "resumed" in capsys.readouterr().err
    assert ReferenceStore(data).releases()["ptp_practitioner"].rows == 154


@pytest.mark.shared_data
def test_a_corrupt_zip_is_rejected_and_nothing_of_it_is_loaded(cms, quick_manifest, tmp_path, capsys):
    data = tmp_path / "data"
    assert fetch(data, cms.url, quick_manifest, "--only", "ptp_practitioner", "--quarter", "2026Q2") == 0
    capsys.readouterr()
    part = "/files/zip/medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f2.zip"
    damaged = bytearray(cms.files[part])
    damaged[60] ^= 0xFF  # inside the compressed member data: the CRC check fails
    cms.files[part] = bytes(damaged)
    assert fetch(data, cms.url, quick_manifest, "--only", "ptp_practitioner") == 3
    err = capsys.readouterr().err
    assert "ccipra-v322r0-f2.zip" in err and ("CRC" in err or "damaged" in err)
    assert "casepilot-ingest ptp" in err and "--dataset ptp_practitioner" in err
    assert Catalog(data).active("reference")["ptp_practitioner"].version == "2026Q2"  # the old one serves
    assert not (data / "reference" / "ptp_practitioner" / "2026Q3.sqlite").exists()
    assert not (data / "downloads" / "ptp_practitioner" / "2026Q3" / part.rsplit("/", 1)[-1]).exists()


@pytest.mark.shared_data
def test_an_unreachable_host_names_each_source_and_its_manual_command(cms, quick_manifest, tmp_path, capsys):
    from loopback import free_port

    data = tmp_path / "data"
    assert fetch(data, cms.url, quick_manifest, "--only", "mue_practitioner") == 0
    capsys.readouterr()
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert fetch(data, closed, quick_manifest, "--attempts", "2") == 3
    err = capsys.readouterr().err
    assert "Could not fetch or load 9 of 9 sources" in err
    assert "what was loaded before keeps serving" in err
    for command in ("casepilot-ingest ptp", "casepilot-ingest mue", "casepilot-ingest hcpcs", "casepilot-ingest mpfs",
                    "casepilot-ingest addon", "--dataset ptp_hospital", "--dataset mue_dme"):
        assert command in err
    assert "Traceback" not in err
    # The first page tried (PTP) meets the closed port; the others on that host are not tried again.
    assert err.count("was unreachable earlier in this run") == 8
    assert ReferenceStore(data).releases()["mue_practitioner"].version == "2026Q3"


@pytest.fixture()
def silent_host():
    """A loopback port that accepts connections and never answers: a blocking proxy or a tarpit."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_host_that_never_answers_is_given_up_once_and_each_retry_is_said(silent_host, quick_manifest, tmp_path,
                                                                            capsys):
    """Issue 13: before, a page that timed out was retried for every source on the host (9 sources, 6 pages: over
    half an hour of silence with the real timeouts); now the host counts as unreachable after its first page,
    and each retry is a line in the log."""
    import time

    manifest = tmp_path / "slow.toml"
    # files keep a longer timeout, still short enough that a page read with it fails this test, not hangs it
    manifest.write_text(quick_manifest.read_text().replace("page_timeout = 30.0", "page_timeout = 0.5")
                        .replace("read_timeout = 120.0", "read_timeout = 5.0"))
    started = time.monotonic()
    assert main(["--data-dir", str(tmp_path / "data"), "fetch", "--base-url", silent_host, "--manifest",
                 str(manifest), "--reference-only", "--attempts", "2"]) == 3
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert elapsed < 15, f"{elapsed:.0f} s"
    # one line per retry, however long the URL (the console is 140 wide off a terminal)
    assert re.search(r"^fetch http://\S+: ReadTimeout: timed out \(attempt 1 of 2\); trying again in \d+ s$", err, re.M)
    assert err.count("was unreachable earlier in this run") == 8
    assert "Could not fetch or load 9 of 9 sources" in err and "Traceback" not in err


def test_status_lists_every_kept_release_and_prune_keeps_the_newest(tmp_path, capsys):
    """Releases over time, with the project's PPRRVU fixture loaded as four quarters."""
    pprrvu = FIXTURES / "mpfs" / "PPRRVU26_JUL.csv"
    data = tmp_path / "data"
    for quarter in ("2026Q1", "2026Q2", "2026Q4", "2026Q3"):  # the active one is the last loaded: 2026Q3
        assert main(["--data-dir", str(data), "--force", "mpfs", str(pprrvu), "--version", quarter]) == 0
        (data / "downloads" / "mpfs" / quarter).mkdir(parents=True)
    capsys.readouterr()
    assert main(["--data-dir", str(data), "status"]) == 0
    status = capsys.readouterr().err
    for quarter in ("2026Q1", "2026Q2", "2026Q4"):
        assert quarter in status
    assert "2026Q3 *" in status
    assert main(["--data-dir", str(data), "prune", "--keep", "2", "--dry-run"]) == 0
    assert "would drop mpfs 2026Q2" in capsys.readouterr().err
    assert (data / "reference" / "mpfs" / "2026Q2.sqlite").exists()  # a dry run drops nothing
    assert main(["--data-dir", str(data), "prune", "--keep", "2"]) == 0
    out = capsys.readouterr().err
    assert "dropped mpfs 2026Q2" in out and "dropped mpfs 2026Q1" in out
    catalog = Catalog(data)
    assert sorted(r.version for r in catalog.history("reference", "mpfs")) == ["2026Q3", "2026Q4"]
    assert catalog.active("reference")["mpfs"].version == "2026Q3"
    assert sorted(p.stem for p in (data / "reference" / "mpfs").glob("*.sqlite")) == ["2026Q3", "2026Q4"]
    assert sorted(p.name for p in (data / "downloads" / "mpfs").iterdir()) == ["2026Q3", "2026Q4"]
    assert ReferenceStore(data).mpfs("27130")[0].release.version == "2026Q3"
    assert main(["--data-dir", str(data), "prune", "--keep", "0"]) == 2
