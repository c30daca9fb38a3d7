"""The fetch manifest (ingest/fetch/sources.toml) and the link picking it drives: pure functions over CMS's file
names, no server and no store (the fetch itself is tests/ingest/test_fetch.py)."""

from __future__ import annotations

import pytest

from ingest.fetch.manifest import MANIFEST

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("source", "href", "quarter"), [
    ("ptp_practitioner", "/license/ama?file=/files/zip/medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f1.zip",
     "2026Q3"),
    ("ptp_hospital", "/license/ama?file=/files/zip//medicare-ncci-2026q2-hospital-ptp-edits-ccioph-v321r0-f3.zip",
     "2026Q2"),
    ("mue_practitioner", "/files/zip/medicare-ncci-2026-q4-practitioner-services-mue-table.zip", "2026Q4"),
    ("mue_hospital", "/files/zip/medicare-ncci-2026-q4-facility-outpatient-hospital-services-mue-table.zip", "2026Q4"),
    ("mue_dme", "/files/zip/medicare-ncci-2026-q4-dme-supplier-services-mue-table.zip", "2026Q4"),
    ("hcpcs", "/files/zip/october-2026-alpha-numeric-hcpcs-file.zip", "2026Q4"),
    ("hcpcs", "/files/zip/july-2026-alpha-numeric-hcpcs-file.zip", "2026Q3"),
    ("addon", "/files/zip/add-code-edits-medicare-effective-06012026.zip", "2026Q2"),
    ("mpfs", "/files/zip/rvu26b-updated-05-01-2026.zip", "2026Q2"),
    ("mcd", "https://downloads.cms.gov/medicare-coverage-database/downloads/exports/current_lcd.zip", None),
    ("mcd", "https://downloads.cms.gov/medicare-coverage-database/downloads/exports/current_article.zip", None),
])
def test_manifest_patterns_pick_cms_file_names(source, href, quarter):
    from ingest.fetch.manifest import load_manifest
    from ingest.fetch.pages import matching_links, unwrap

    spec = load_manifest(MANIFEST).select([source])[0]
    url = unwrap(href, "https://www.cms.gov/medicare/x")
    assert "/license/" not in url and "//medicare-ncci" not in url
    links = matching_links([url], spec.link, spec.current_only)
    assert [link.quarter for link in links] == [quarter]


def test_release_pick_takes_the_newest_quarter_and_revision_in_part_order():
    from ingest.fetch.manifest import load_manifest
    from ingest.fetch.pages import ReleaseNotFound, matching_links, pick_release

    spec = load_manifest(MANIFEST).select(["ptp_practitioner"])[0]
    base = "https://www.cms.gov/files/zip/medicare-ncci-"
    urls = [f"{base}2026q3-practitioner-ptp-edits-ccipra-v322r{r}-f{p}.zip" for r in (0, 1) for p in (2, 1)]
    urls += [f"{base}2026q2-practitioner-ptp-edits-ccipra-v321r0-f1.zip",
             f"{base}2026q3-practitioner-quarterly-additions-deletions-revisions-ptp.zip",
             f"{base}2026q3-hospital-ptp-edits-ccioph-v322r0-f1.zip"]
    links = matching_links(urls, spec.link)
    picked = pick_release(links, None, spec)
    assert [link.filename for link in picked] == ["medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r1-f1.zip",
                                                  "medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r1-f2.zip"]
    assert [link.quarter for link in pick_release(links, "2026Q2", spec)] == ["2026Q2"]
    with pytest.raises(ReleaseNotFound, match="no longer lists 2025Q4"):
        pick_release(links, "2025Q4", spec)


def test_base_urls_are_overridden_by_name_or_all_at_once(monkeypatch):
    from ingest.fetch.manifest import BASE_URLS_ENV, ManifestError, load_manifest

    one = load_manifest(MANIFEST, ["mcd=http://127.0.0.1:9/"])
    assert one.bases == {"cms": "https://www.cms.gov", "mcd": "http://127.0.0.1:9"}
    assert one.rebase("https://downloads.cms.gov/a.zip") == "http://127.0.0.1:9/a.zip"
    monkeypatch.setenv(BASE_URLS_ENV, "http://mirror.test")
    every = load_manifest(MANIFEST)
    assert set(every.bases.values()) == {"http://mirror.test"}
    assert every.select(["hcpcs"])[0].page.startswith("http://mirror.test/medicare/")
    with pytest.raises(ManifestError, match="unknown base 'cdn'"):
        load_manifest(MANIFEST, ["cdn=http://x"])
    with pytest.raises(ManifestError, match="unknown source"):
        every.select(["nope"])
