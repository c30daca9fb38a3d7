"""POST /v1/claims/check: NCCI PTP conflicts, MUE excesses and invalid codes among a claim's lines."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from rag.claims import ClaimCheck

from api.deps import ClaimsDep, access
from api.models import ClaimCheckRequest
from api.routers.common import ACCESS_RESPONSES

router = APIRouter(prefix="/v1", tags=["claims"], dependencies=[Depends(access)], responses=ACCESS_RESPONSES)


# Exact lookups only (about a millisecond): answered on the event loop, where a thread-pool hop would cost
# about as much again under load.
@router.post("/claims/check", response_model=ClaimCheck, summary="Check a claim's lines against NCCI and the code sets")
async def check_claim(body: ClaimCheckRequest, checker: ClaimsDep) -> ClaimCheck:
    return checker(body.lines, body.setting)
