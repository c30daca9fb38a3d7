"""The browser tests share the HTTP tests' casepilot-serve subprocess (tests/http/casepilot_live.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))

from casepilot_live import shared_server  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser downloads are never used
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: install Debian's chromium (apt-get install -y chromium); "
                    "Playwright's own browser downloads are not used")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def widget_server(full_data_dir, tmp_path_factory):
    server, _ = shared_server(full_data_dir, tmp_path_factory)
    yield server
    server.stop()
