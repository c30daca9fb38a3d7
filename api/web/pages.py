"""GET /codes/{code}: the code page. GET /search: code search. GET and POST /ask: the question box's answer.

Code pages count against the visitor's page views (guests: ``guest_page_views_per_day``; accounts:
``registered_page_views_per_day``), questions against their questions; over quota, the page says so with
the registration form (status 429, ``Retry-After`` to the next UTC midnight). Search is not counted.
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from api.access import describe_text
from api.models import CODE_PATTERN
from api.web.state import CsrfError, Visitor, WebState, WebStateDep
from rag.app import Services
from rag.codepage import CodeNotFound
from rag.service import QuestionError

log = logging.getLogger("casepilot.web")
router = APIRouter(include_in_schema=False)

CODE_SET_NAMES = {"CPT": "CPT", "HCPCS": "HCPCS Level II", "ICD10CM": "ICD-10-CM", "MODIFIER": "Modifier",
                  "CPT/HCPCS": "CPT/HCPCS"}
SEARCH_SETS = ("CPT", "HCPCS", "ICD10CM")
PTP_PAGE_SIZE = 25
PTP_MAX_PAGE_SIZE = 500
SEARCH_PAGE_SIZE = 20
SEARCH_MAX_PAGES = 5
CODE_RE = re.compile(CODE_PATTERN)


def code_label(code_set: str, code: str) -> str:
    return f"{CODE_SET_NAMES.get(code_set, code_set)} {code}".strip()


def format_date(value: int | None) -> str:
    if not value or value >= 99991231:
        return ""
    text = str(value)
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 else text


def _not_ready(state: WebState, request: Request, visitor: Visitor) -> Response:
    response = state.render(request, visitor, "message.html", 503, title="CasePilot is starting",
                            message="The reference data and models are loading: try again in a few seconds.")
    response.headers["Retry-After"] = "5"
    return response


def over_quota(state: WebState, request: Request, visitor: Visitor, what: str, limit: int) -> Response:
    response = state.render(request, visitor, "limit.html", 429, what=what, limit=limit,
                            next=request.url.path, title="Register free account to get more")
    response.headers["Retry-After"] = str(state.page_views.retry_after())
    return response


@router.get("/codes/{code}")
async def code_page(request: Request, state: WebStateDep, code: str, p1: int = Query(1, ge=1, le=100_000),
                    p2: int = Query(1, ge=1, le=100_000),
                    setting: str = Query("practitioner", pattern="^(practitioner|hospital)$"),
                    per_page: int = Query(PTP_PAGE_SIZE, ge=10, le=PTP_MAX_PAGE_SIZE)) -> Response:
    visitor = state.visitor(request)
    runtime = state.runtime
    services = runtime.services()  # one data snapshot for the whole page
    if services is None:
        return _not_ready(state, request, visitor)
    if not CODE_RE.match(code):
        return state.render(request, visitor, "not_found.html", 404, code=code[:20], suggestions=[])
    pages = services.pages
    try:
        resolved, _ = pages.resolve(code)
    except CodeNotFound as missing:
        return state.render(request, visitor, "not_found.html", 404, code=missing.code,
                            suggestions=missing.suggestions)
    allowed, limit, remaining = state.page_views.hit(visitor.principal)
    if not allowed:
        runtime.metrics.quota_rejections.labels(f"web-{visitor.principal.tier}").inc()
        return over_quota(state, request, visitor, "page views", limit)
    key = (resolved, p1, p2, per_page, setting, services.version)
    cached = state.bodies.get(key)
    if cached is None:
        cached = await run_in_threadpool(_render_body, state, services, resolved, p1, p2, per_page, setting)
        state.bodies.put(key, *cached)
    body, meta = cached
    response = state.render(request, visitor, "code.html", body=body, remaining=remaining, limit=limit, **meta)
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    return response


def _render_body(state: WebState, services: Services, code: str, p1: int, p2: int, per_page: int,
                 setting: str) -> tuple[Markup, dict]:
    """The visitor-independent part of a code page, rendered, and what the rest of the page needs of it."""
    pages = services.pages
    dataset = f"ptp_{setting}"
    page = pages.code_page(code, page=p1, page_size=per_page, dataset=dataset)
    if p2 != p1:
        column2 = pages.ptp_page(code, 2, page=p2, page_size=per_page, dataset=dataset)
        column2.citation = page.ptp_column2.citation  # keep the page's citation numbering
        page.ptp_column2 = column2
    own_set = page.descriptors[0].code_set if page.descriptors else page.code_set.split("/")[0]
    previous, following = services.snapshot.reference.neighbours(page.code, own_set)
    citations = [c for c in (*(d.citation for d in page.descriptors), page.ptp_column1.citation,
                             page.ptp_column2.citation, *page.mue_citations, *(m.citation for m in page.modifiers),
                             *page.passages) if c is not None]
    label = code_label(own_set, page.code)
    official = next((d for d in page.descriptors if d.kind == "official"), None)
    plain = next((d for d in page.descriptors if d.kind == "plain_language"), None)
    summary = (official or plain).text if (official or plain) else page.description
    body = state.templates.get_template("code_body.html").render(
        page=page, label=label, own_set=own_set, official=official, plain=plain,
        other_descriptors=[d for d in page.descriptors if d is not official and d is not plain],
        previous=previous, following=following, citations=citations, setting=setting, p1=p1, p2=p2,
        per_page=per_page, coverage=getattr(page, "coverage", None), fmt=format_date)
    meta = {
        "page": {"code": page.code}, "label": label,
        "title": f"{label}: {summary[:70]}" if summary else label,
        "description": (f"{label}: {summary[:150]}. Status, NCCI PTP edits, MUE and modifiers, every fact cited."
                        if summary else f"{label} on CasePilot: status, NCCI edits, MUE and modifiers, cited."),
    }
    return Markup(body), meta


@router.get("/search")
async def search(request: Request, state: WebStateDep, q: str = Query("", max_length=500), code_set: str = Query(""),
                 page: int = Query(1, ge=1, le=SEARCH_MAX_PAGES)) -> Response:
    visitor = state.visitor(request)
    service = state.runtime.service
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in q).split())
    code_sets = [code_set] if code_set in SEARCH_SETS else None
    hits = []
    if text:
        if service is None:
            return _not_ready(state, request, visitor)
        log.info("web search %s", describe_text(text, state.settings.log_questions))
        wanted = page * SEARCH_PAGE_SIZE + 1  # one more than shown: says whether a next page exists
        hits = await run_in_threadpool(service.search_codes, text, limit=wanted, code_sets=code_sets)
    shown = hits[(page - 1) * SEARCH_PAGE_SIZE: page * SEARCH_PAGE_SIZE]
    title = f"{text} - CasePilot code search" if text else "Code search - CasePilot"
    return state.render(request, visitor, "search.html", q=text, code_set=code_set if code_sets else "",
                        sets=SEARCH_SETS, names=CODE_SET_NAMES, hits=shown, page=page,
                        has_next=len(hits) > page * SEARCH_PAGE_SIZE and page < SEARCH_MAX_PAGES,
                        title=title, label=code_label,
                        description="Find CPT, HCPCS Level II and ICD-10-CM codes from lay words, a descriptor, "
                                    "or a code, typos included.")


@router.get("/ask")
async def ask_form(request: Request, state: WebStateDep, code: str = Query("", max_length=12)) -> Response:
    visitor = state.visitor(request)
    code = code.upper() if CODE_RE.match(code or "") else ""
    return state.render(request, visitor, "ask.html", code=code, question="", answer=None,
                        title=f"Ask about {code} - CasePilot" if code else "Ask CasePilot",
                        description="Ask CasePilot a coding question: every fact in the answer is cited.")


@router.post("/ask")
async def ask(request: Request, state: WebStateDep, question: str = Form("", max_length=4000),
              code: str = Form("", max_length=12), csrf: str = Form("")) -> Response:
    visitor = state.visitor(request)
    code = code.upper() if CODE_RE.match(code or "") else ""
    context = {"code": code, "question": question,
               "title": f"Ask about {code} - CasePilot" if code else "Ask CasePilot",
               "description": "CasePilot's answer: every fact cited."}
    try:
        state.check_csrf(request, visitor, csrf)
    except CsrfError as error:
        return state.render(request, visitor, "ask.html", 403, answer=None, error=str(error), **context)
    service = state.runtime.service
    if service is None:
        return _not_ready(state, request, visitor)
    if not question.strip():
        return state.render(request, visitor, "ask.html", 400, answer=None, error="Type a question first.",
                            **context)
    allowed, limit, _ = state.questions.hit(visitor.principal)
    if not allowed:
        state.runtime.metrics.quota_rejections.labels(f"web-{visitor.principal.tier}").inc()
        return over_quota(state, request, visitor, "questions", limit)
    log.info("web ask %s", describe_text(question, state.settings.log_questions))
    try:
        answer = await run_in_threadpool(service.ask, question, codes=[code] if code else ())
    except QuestionError as error:
        return state.render(request, visitor, "ask.html", 400, answer=None, error=str(error), **context)
    state.runtime.metrics.answered("web", answer.abstained, len(answer.removed_codes))
    return state.render(request, visitor, "ask.html", answer=answer, fmt=format_date, **context)

