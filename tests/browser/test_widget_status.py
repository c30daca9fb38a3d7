"""Issue 13: the chat widget shows the releases the service answers from and warns about the datasets it lacks
(from GET /readyz). Headless Chromium over routed responses: the demo page and widget.js from api/static, /readyz
faked, so no server and no data are needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
ORIGIN = "http://casepilot.test"
READY = {"status": "ok", "detail": "not loaded: hcpcs, ptp_practitioner; ...",
         "releases": {"cpt": "c36a0ccd06b", "icd10cm": "FY2026"},
         "missing": {"hcpcs": "CMS HCPCS Level II annual file",
                     "ptp_practitioner": "Medicare NCCI PTP edits, practitioner services"}}


def open_demo(browser, readyz):
    """The demo page with /readyz answered by ``readyz()`` -> (status code, body); returns (context, page, errors)."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    files = {"/": ("text/html", STATIC / "index.html"), "/widget.js": ("text/javascript", STATIC / "widget.js")}

    def handle(route):
        path = route.request.url[len(ORIGIN):].split("?")[0] or "/"
        if path == "/readyz":
            status, body = readyz()
            route.fulfill(status=status, content_type="application/json", body=json.dumps(body))
        elif path in files:
            kind, file = files[path]
            route.fulfill(status=200, content_type=kind, body=file.read_text(encoding="utf-8"))
        else:
            route.fulfill(status=404, body="")

    page.route(f"{ORIGIN}/**", handle)
    page.goto(ORIGIN + "/")
    return context, page, errors


def test_widget_warns_about_missing_datasets_and_lists_releases(browser):
    context, page, errors = open_demo(browser, lambda: (200, READY))
    try:
        warning = page.locator("#casepilot-widget .warn")
        warning.wait_for(timeout=10_000)
        text = warning.inner_text()
        assert text.startswith("Not loaded:")
        assert "Medicare NCCI PTP edits, practitioner services" in text and "HCPCS Level II" in text
        assert "casepilot-ingest fetch" in text
        loaded = page.locator("#casepilot-widget .status .data").inner_text()
        assert "cpt c36a0ccd06b" in loaded and "icd10cm FY2026" in loaded
    finally:
        context.close()
    assert not errors, errors


def test_widget_without_gaps_shows_no_warning_and_waits_while_starting(browser):
    answers = [(503, {"status": "starting", "detail": "loading the reference data and models", "releases": {},
                      "missing": {}}),
               (200, dict(READY, detail="", missing={}))]
    context, page, errors = open_demo(browser, lambda: answers.pop(0) if len(answers) > 1 else answers[0])
    try:
        status = page.locator("#casepilot-widget .status")
        status.locator(".data").wait_for(timeout=10_000)
        assert "still loading" in status.inner_text()
        page.wait_for_function("() => document.querySelector('#casepilot-widget').shadowRoot"
                               ".querySelector('.status').textContent.indexOf('Loaded releases') >= 0",
                               timeout=15_000)
        assert page.locator("#casepilot-widget .warn").count() == 0
        assert "cpt c36a0ccd06b" in status.inner_text()
    finally:
        context.close()
    assert not errors, errors
