"""GET /v1/codes/{code}: the code page. GET /v1/search: code search across code sets."""

from __future__ import annotations

import logging
from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from rag.codepage import CodePage
from rag.stores.schema import CODE_SETS

from api.access import describe_text
from api.cache import MISSING
from api.deps import PagesDep, RuntimeDep, ServicesDep, access
from api.models import CODE_PATTERN, NotFoundBody, SearchResults
from api.routers.common import ACCESS_RESPONSES

log = logging.getLogger("casepilot.api")
router = APIRouter(prefix="/v1", tags=["codes"], dependencies=[Depends(access)], responses=ACCESS_RESPONSES)

CodeSet = Literal["CPT", "HCPCS", "ICD10CM", "MODIFIER"]
assert set(CodeSet.__args__) == set(CODE_SETS)


# Reference facts and a BM25 search (no embedding): answered on the event loop, where a thread-pool hop
# would cost about as much again under load.
@router.get("/codes/{code}", response_model=CodePage, summary="Everything about one code, each part cited",
            responses={404: {"model": NotFoundBody, "description": "unknown code, with the closest valid codes"}})
async def code_page(
    pages: PagesDep,
    code: str = Path(pattern=CODE_PATTERN, description="a CPT, HCPCS Level II or ICD-10-CM code", examples=["22514"]),
    page: int = Query(1, ge=1, le=100_000, description="page of PTP edits (both columns)"),
    page_size: int = Query(25, ge=1, le=200, description="PTP edits per page"),
    modifier_indicator: int | None = Query(None, ge=0, le=9, description="only edits with this modifier indicator "
                                                                        "(0, 1 or 9)"),
    active_on: date | None = Query(None, description="only edits in force on this date (YYYY-MM-DD)"),
    setting: Literal["practitioner", "hospital"] = Query("practitioner", description="which PTP table"),
) -> CodePage:
    return pages.code_page(code, page=page, page_size=page_size, modifier_indicator=modifier_indicator,
                           active_on=active_on, dataset=f"ptp_{setting}")


@router.get("/search", response_model=SearchResults, summary="Find codes from words, a code or a typo'd code")
async def search(
    services: ServicesDep,
    runtime: RuntimeDep,
    q: str = Query(min_length=1, max_length=500, description="lay words, a descriptor, or a code"),
    limit: int = Query(10, ge=1, le=50),
    code_set: CodeSet | None = Query(None, description="restrict to one code set"),
) -> SearchResults:
    log.info("search %s", describe_text(q, runtime.settings.log_questions))
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in q).split())
    key = (text, limit, code_set, services.version)
    hits = runtime.cache.get("search", key)
    if hits is MISSING:
        # A miss may embed the query (~25 ms of torch): in the thread pool, so the event loop keeps serving.
        hits = await run_in_threadpool(services.query.search_codes, text, limit=limit,
                                       code_sets=[code_set] if code_set else None) if text else []
        runtime.cache.put("search", key, hits)
    return SearchResults(query=text, code_set=code_set, results=hits)
