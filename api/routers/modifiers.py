"""GET /v1/modifiers/{modifier}: guidance for one modifier."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from rag.codepage import CodePages, ModifierPage

from api.deps import access, get_pages
from api.models import NotFoundBody
from api.routers.common import ACCESS_RESPONSES

router = APIRouter(prefix="/v1", tags=["modifiers"], dependencies=[Depends(access)], responses=ACCESS_RESPONSES)


# Exact lookups only (about a millisecond): answered on the event loop, where a thread-pool hop would cost
# about as much again under load.
@router.get("/modifiers/{modifier}", response_model=ModifierPage, summary="Guidance for one modifier",
            responses={404: {"model": NotFoundBody, "description": "unknown modifier"}})
async def modifier(modifier: str = Path(pattern=r"^-?[A-Za-z0-9]{2}$", description="e.g. 59, XS, 25, LT",
                                  examples=["XS"]),
             pages: CodePages = Depends(get_pages)) -> ModifierPage:
    return pages.modifier_page(modifier)
