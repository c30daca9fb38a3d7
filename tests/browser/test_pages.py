"""The pages in a real headless Chromium (Debian's /usr/bin/chromium): a guest runs out of page views,
registers, follows the sign-in link from the Maildir outbox and continues; search -> code page -> the
question box (with and without JavaScript) -> back. The server is create_app over the session's query
service on a real uvicorn (loopback), with Secure cookies as in production (Chromium keeps them on 127.0.0.1,
a potentially trustworthy origin)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from mail_outbox import sign_in_link
from loopback import ThreadServer

pytestmark = [pytest.mark.browser, pytest.mark.shared_data]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def pages_server(casepilot, tmp_path):
    from api.main import create_app
    from rag.settings import Settings

    def start(**overrides):
        settings = Settings(data_dir=casepilot.settings.data_dir, accounts_db=tmp_path / "accounts.sqlite",
                            **overrides)
        server = ThreadServer(create_app(settings, casepilot=casepilot))
        server.settings = settings
        return server

    return start


def _context(browser, **options):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def test_guest_runs_out_of_views_registers_and_continues(browser, pages_server):
    address = "browser-guest@clinic.example"
    with pages_server(guest_page_views_per_day=1, registered_page_views_per_day=5) as server:
        context, page, errors = _context(browser)
        page.goto(server.url + "/codes/22514")
        assert page.locator("h1 .big").inner_text() == "22514"
        page.keyboard.press("Tab")  # keyboard users meet the skip link first, then the home link and search field
        assert page.evaluate("document.activeElement.className") == "skip"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "brand"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "quick-q"
        unlabelled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), textarea')]
            .filter(e => !(e.labels && e.labels.length)).map(e => e.name)""")
        assert unlabelled == []
        assert "Have a question about CPT 22514?" in page.locator(".askbox h2").inner_text()
        assert "0 of 1 free page view left today" in page.locator(".quota").inner_text()
        page.get_by_role("link", name="Next: 22515").click()

        assert page.locator("h1").inner_text() == "Register free account to get more"
        page.get_by_label("Email address").fill(address)
        page.get_by_role("button", name="Register free account").click()
        assert page.locator("h1").inner_text() == "Check your email"

        link = sign_in_link(server.settings.data_dir / "outbox", address)
        page.goto(link)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(server.url + "/codes/22515")
        assert page.locator("h1 .big").inner_text() == "22515"
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["cp_session"]["secure"] and cookies["cp_session"]["httpOnly"]
        assert page.get_by_role("link", name=address).is_visible()  # signed in, in the header
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "code-page-signed-in.png"), full_page=False)

        page.get_by_role("link", name=address).click()
        assert "4 of 5 code pages" in page.locator(".quota").inner_text()
        page.get_by_label("Key name").fill("browser")
        page.get_by_role("button", name="Create API key").click()
        assert page.locator("#new-key").inner_text().startswith("cp_a")
        page.get_by_role("button", name="Revoke key browser").click()
        assert "revoked" in page.locator("table.keys").inner_text()
        page.get_by_role("button", name="Sign out").click()
        assert not page.get_by_role("link", name=address).is_visible()
        context.close()
        assert not errors, f"JavaScript errors: {errors}"


def test_search_to_code_page_to_the_question_box_and_back(browser, pages_server):
    with pages_server(guest_page_views_per_day=100, guest_questions_per_day=100) as server:
        # Without JavaScript: the plain form posts and the answer page links back.
        context, page, errors = _context(browser, java_script_enabled=False)
        page.goto(server.url + "/search")
        page.get_by_label("Code, descriptor or lay words").fill("kyphoplsty")
        page.get_by_label("CPT", exact=True).check()
        page.locator("form.search button").click()
        first = page.locator("ol.results li a").first
        code = first.inner_text()
        assert code.startswith("225")
        first.click()
        assert page.locator("h1 .big").inner_text() == code
        box = page.get_by_label("Your question for CasePilot")
        assert box.input_value() == f"CPT {code}: "
        box.fill(f"CPT {code}: what is the MUE?")
        page.get_by_role("button", name="Ask CasePilot").click()
        page.locator(".sentence").first.wait_for(timeout=60_000)
        assert page.locator(".sources li").count() >= 1
        page.get_by_role("link", name=f"Back to {code}").click()
        assert page.locator("h1 .big").inner_text() == code
        context.close()

        # With JavaScript: the widget takes the question and answers in its panel.
        context, page, errors = _context(browser)
        page.goto(server.url + "/search?q=kyphoplsty&code_set=CPT")
        page.get_by_role("link", name=code, exact=True).first.click()
        assert page.locator("h1 .big").inner_text() == code
        page.get_by_label("Your question for CasePilot").fill(f"What is the MUE for {code}?")
        page.get_by_role("button", name="Ask CasePilot").click()
        page.locator("#casepilot-widget .a[data-state=done]").last.wait_for(timeout=60_000)
        assert code in page.locator("#casepilot-widget .a .text").last.inner_text()
        assert page.url.endswith(f"/codes/{code}")  # stayed on the code page
        page.emulate_media(media="print")
        assert not page.locator(".askbox").is_visible()  # print CSS hides the form
        page.emulate_media(media="screen")
        page.go_back()
        assert page.get_by_label("Code, descriptor or lay words").input_value() == "kyphoplsty"
        assert page.locator("ol.results li").count() >= 1
        context.close()
        assert not errors, f"JavaScript errors: {errors}"
