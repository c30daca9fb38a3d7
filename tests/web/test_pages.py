"""The server-rendered pages over HTTP (real uvicorn on loopback, the session's query service): code pages for
CPT, HCPCS Level II and ICD-10-CM built from the reference store, search, the question box, security headers,
CSRF, and the guest -> registered account flow through the Maildir outbox. Expected values are read from the
reference store, never from the page code."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from mail_outbox import sign_in_link

pytestmark = [pytest.mark.http, pytest.mark.shared_data]

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
MARKERS = re.compile(r'href="#cite-(\d+)"')


def csrf_of(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert match, "the page has no CSRF field"
    return match.group(1)


@pytest.fixture
def roomy(web_server):
    with web_server(guest_page_views_per_day=1000, guest_questions_per_day=1000) as server, \
            httpx.Client(base_url=server.url, timeout=120) as client:
        yield client


def test_cpt_code_page_has_every_part_cited(roomy, query_service):
    store = query_service.reference
    response = roomy.get("/codes/22514")
    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "<title>CPT 22514" in text and '<meta name="description" content="CPT 22514' in text
    assert "Have a question about CPT 22514?" in text
    assert re.search(r"<textarea[^>]*>CPT 22514: </textarea>", text)
    plain = next(s.fact for s in store.lookup_code("22514") if s.release.dataset == "cpt")
    assert plain.lay_description in text
    assert "AMA copyrighted" in text  # no licensed file loaded: no official CPT descriptor
    _, column1 = store.ptp_for_code("22514", 1, limit=0)
    _, column2 = store.ptp_for_code("22514", 2, limit=0)
    assert f"{column1} edits; page 1 of {(column1 + 24) // 25}" in text
    assert f"{column2} edits; page 1 of {(column2 + 24) // 25}" in text
    previous, following = store.neighbours("22514", "CPT")
    assert f'rel="prev" href="/codes/{previous}"' in text and f'rel="next" href="/codes/{following}"' in text
    for limit in store.mue("22514"):
        assert f"<td>{limit.fact.value}</td>" in text
    markers = set(MARKERS.findall(text))
    assert markers, "no citation markers on the page"
    for marker in markers:  # every marker resolves to a listed source
        assert f'id="cite-{marker}"' in text
    headers = response.headers
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_ptp_pages_page_each_column_on_its_own(roomy, query_service):
    store = query_service.reference
    expected1 = store.ptp_for_code("22514", 1, limit=25, offset=25)[0][0].fact
    first2 = store.ptp_for_code("22514", 2, limit=25, offset=0)[0][0].fact
    text = roomy.get("/codes/22514", params={"p1": 2}).text
    section1 = text[text.index('id="ptp1"'):text.index('id="ptp2"')]
    section2 = text[text.index('id="ptp2"'):]
    assert "page 2 of" in section1 and "page 1 of" in section2
    assert f"<td>2026Q2 row {expected1.row}</td>" in section1
    assert f"<td>2026Q2 row {first2.row}</td>" in section2
    assert 'href="/codes/22514?setting=practitioner&amp;p2=1&amp;p1=3#ptp1"' in section1  # next page, column 2 kept


def test_hcpcs_icd10_deleted_and_unknown_codes(roomy, query_service):
    store = query_service.reference
    hcpcs = next(s.fact for s in store.lookup_code("J1885") if s.release.dataset == "hcpcs")
    text = html.unescape(roomy.get("/codes/J1885").text)
    assert "Official descriptor" in text and hcpcs.long_description in text
    assert "<title>HCPCS Level II J1885" in text

    deleted = next(s.fact for s in store.lookup_code("A4466") if s.release.dataset == "hcpcs")
    assert deleted.termination_date
    text = roomy.get("/codes/A4466").text
    day = str(deleted.termination_date)
    assert f"Deleted code</strong>: terminated {day[:4]}-{day[4:6]}-{day[6:]}" in text

    icd = roomy.get("/codes/S32000A")  # undotted form resolves to the dotted code
    assert icd.status_code == 200 and "<title>ICD-10-CM S32.000A" in icd.text

    missing = roomy.get("/codes/22599X")
    assert missing.status_code == 404 and "was not found" in missing.text
    assert roomy.get("/codes/<script>").status_code == 404


def test_search_with_typos_lay_words_filters_and_pages(roomy, query_service):
    typo = roomy.get("/search", params={"q": "kyphoplsty"}).text
    expected = query_service.search_codes("kyphoplsty", limit=5)
    assert expected, "the search found nothing for the premise"
    assert f'href="/codes/{expected[0].code}"' in typo
    assert expected[0].code.startswith("225")  # the kyphoplasty family, found despite the typo

    lay = roomy.get("/search", params={"q": "back pain", "code_set": "ICD10CM"})
    codes = re.findall(r'<li><a href="/codes/([^"]+)"', lay.text)
    wanted = query_service.search_codes("back pain", limit=41, code_sets=["ICD10CM"])
    assert codes == [h.code for h in wanted[:20]]
    assert all(h.code_set == "ICD10CM" for h in wanted)
    if len(wanted) > 20:
        second = roomy.get("/search", params={"q": "back pain", "code_set": "ICD10CM", "page": 2}).text
        assert re.findall(r'<li><a href="/codes/([^"]+)"', second) == [h.code for h in wanted[20:40]]
        assert 'rel="prev"' in second


def test_question_box_answers_with_citations_and_counts_questions(web_server):
    with web_server(guest_page_views_per_day=10, guest_questions_per_day=1) as server, \
            httpx.Client(base_url=server.url, timeout=120) as client:
        page = client.get("/codes/22514")
        token = csrf_of(page)
        answer = client.post("/ask", data={"csrf": token, "code": "22514",
                                           "question": "Can 22511 and 22514 be billed together?"})
        assert answer.status_code == 200
        assert 'class="sentence"' in answer.text and "22514" in answer.text
        markers = set(MARKERS.findall(answer.text))
        assert markers and all(f'id="cite-{m}"' in answer.text for m in markers)
        assert 'href="/codes/22514">&larr; Back to 22514' in answer.text.replace("&larr", "&larr")
        over = client.post("/ask", data={"csrf": token, "code": "22514", "question": "What is the MUE?"})
        assert over.status_code == 429 and "Register free account to get more" in over.text


def test_forms_refuse_missing_or_foreign_csrf(web_server):
    with web_server() as server, httpx.Client(base_url=server.url, timeout=60) as client:
        token = csrf_of(client.get("/register"))
        assert client.post("/register", data={"email": "x@clinic.example"}).status_code == 403
        assert client.post("/register", data={"email": "x@clinic.example", "csrf": "wrong" * 5}).status_code == 403
        foreign = client.post("/register", data={"email": "x@clinic.example", "csrf": token},
                              headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        with httpx.Client(base_url=server.url, timeout=60) as stranger:  # no CSRF cookie: a forged cross-site post
            assert stranger.post("/register", data={"email": "x@clinic.example", "csrf": token}).status_code == 403


def test_guest_runs_out_registers_signs_in_and_manages_keys(web_server):
    address = "guest-flow@clinic.example"
    with web_server(guest_page_views_per_day=1, registered_page_views_per_day=5) as server, \
            httpx.Client(base_url=server.url, timeout=120) as client:
        first = client.get("/codes/22514")
        assert first.status_code == 200 and first.headers["X-RateLimit-Remaining"] == "0"
        over = client.get("/codes/22511")
        assert over.status_code == 429 and "Register free account to get more" in over.text
        assert 0 < int(over.headers["Retry-After"]) <= 86_401
        sent = client.post("/register", data={"email": address, "csrf": csrf_of(over), "next": "/codes/22511"})
        assert sent.status_code == 200 and "Check your email" in sent.text
        link = sign_in_link(server.settings.data_dir / "outbox", address)
        assert link.startswith(server.url + "/sign-in?token=")
        confirm = client.get(link)
        token = re.search(r'name="token" value="([^"]+)"', confirm.text).group(1)
        signed = client.post("/sign-in", data={"csrf": csrf_of(confirm), "token": token, "next": "/codes/22511"})
        assert signed.status_code == 303 and signed.headers["location"] == "/codes/22511"
        cookie = signed.headers["set-cookie"]
        assert "cp_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        page = client.get("/codes/22511")
        assert page.status_code == 200 and page.headers["X-RateLimit-Remaining"] == "4"
        # the link works once
        again = client.post("/sign-in", data={"csrf": csrf_of(client.get(link)), "token": token})
        assert again.status_code == 400

        account = client.get("/account")
        assert address in account.text and "3 of 5 code pages" not in account.text
        created = client.post("/account/keys", data={"csrf": csrf_of(account), "name": "laptop"})
        assert created.status_code == 201
        key = re.search(r'<code id="new-key">([^<]+)</code>', created.text).group(1)
        assert client.get("/v1/modifiers/25", headers={"X-API-Key": key}).status_code == 200
        key_id = key.split("_")[1]
        revoked = client.post(f"/account/keys/{key_id}/revoke", data={"csrf": csrf_of(created)})
        assert revoked.status_code == 303
        assert client.get("/v1/modifiers/25", headers={"X-API-Key": key}).status_code == 401
        assert "revoked" in client.get("/account").text

        out = client.post("/sign-out", data={"csrf": csrf_of(client.get("/account"))})
        assert out.status_code == 303
        assert client.get("/account").status_code == 303  # signed out: sent to registration


def test_the_answer_page_names_related_sections_under_see_also(web_server, query_service):
    question = "Can I bill an E/M with a same-day minor procedure?"
    expected = query_service.ask(question).see_also
    assert expected, "the premise: the service names a related section for this question"
    with web_server(guest_page_views_per_day=10, guest_questions_per_day=5) as server, \
            httpx.Client(base_url=server.url, timeout=120) as client:
        token = csrf_of(client.get("/ask"))
        page = client.post("/ask", data={"csrf": token, "question": question})
        assert page.status_code == 200
        assert 'class="see-also"' in page.text
        assert all(html.escape(item.title) in page.text for item in expected)
