"""The chat widget in a real headless Chromium (Debian's /usr/bin/chromium) against a real casepilot-serve."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.shared_data]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def page(browser, widget_server):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(widget_server.url + "/")
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_widget_streams_an_answer_with_citations_and_code_pages(page):
    panel = page.locator("#casepilot-widget .panel")
    assert panel.is_visible()  # the demo page opens it (data-open="true")
    page.locator("#casepilot-widget textarea").fill("Can 22511 and 22514 be billed together?")
    page.locator("#casepilot-widget .send").click()

    answer = page.locator("#casepilot-widget .a").last
    answer.locator(".sent").first.wait_for(timeout=60_000)
    page.locator("#casepilot-widget .a[data-state=done]").last.wait_for(timeout=60_000)
    assert "22514" in answer.locator(".text").inner_text()
    assert answer.locator(".src").count() >= 1

    # a citation marker reveals its source: title, version, locator, snippet and the official link
    answer.locator(".mk").first.click()
    source = answer.locator(".src.open").first
    source.wait_for()
    assert "NCCI PTP" in source.locator(".t").inner_text()
    meta = source.locator(".m").inner_text()
    assert "2026Q2" in meta and "row" in meta
    assert source.locator(".snip").is_visible()
    assert source.locator("a").get_attribute("href").startswith("https://www.cms.gov/")
    page.wait_for_timeout(600)  # the reveal scrolls smoothly
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget.png"))

    # a code chip opens the code page inside the panel
    answer.locator(".chip[data-code='22514']").first.click()
    code_page = page.locator("#casepilot-widget .page.open")
    code_page.locator(".big").wait_for(timeout=30_000)
    assert code_page.locator(".big").inner_text() == "22514"
    assert "PTP edits" in code_page.inner_text()
    page.screenshot(path=str(ARTIFACTS / "widget-code-page.png"))
    code_page.locator(".back").click()
    assert not code_page.is_visible()


def test_widget_shows_api_errors(page):
    page.locator("#casepilot-widget textarea").fill("x" * 5000)
    page.locator("#casepilot-widget .send").click()
    error = page.locator("#casepilot-widget .a.err").last
    error.wait_for(timeout=30_000)
    assert "2000" in error.inner_text()
