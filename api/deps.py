"""Dependencies injected into the routers (FastAPI Depends): the services and the caller's access.

All are ``async def`` because none blocks: a sync dependency would cost a thread-pool hop on every request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from rag.app import Services
from rag.claims import ClaimChecker
from rag.codepage import CodePages
from rag.service import QueryService
from rag.settings import Settings

from api.access import Principal
from api.errors import ApiError
from api.runtime import Runtime

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="an API key (registered tier); without one, requests use the guest tier")
bearer = HTTPBearer(auto_error=False, description="the same API key as a bearer token")


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_settings(runtime: Runtime = Depends(get_runtime)) -> Settings:
    return runtime.settings


async def get_services(runtime: Runtime = Depends(get_runtime)) -> Services:
    """The services over one data snapshot, taken once per request (FastAPI caches a dependency's value for
    the request), so every part of a response reads the same releases."""
    services = runtime.services()
    if services is None:
        raise ApiError(503, "CasePilot is starting: the reference data and models are loading",
                       headers={"Retry-After": "5"})
    return services


async def get_service(services: Services = Depends(get_services)) -> QueryService:
    return services.query


async def get_pages(services: Services = Depends(get_services)) -> CodePages:
    return services.pages


async def get_claims(services: Services = Depends(get_services)) -> ClaimChecker:
    return services.claims


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServicesDep = Annotated[Services, Depends(get_services)]
ServiceDep = Annotated[QueryService, Depends(get_service)]
PagesDep = Annotated[CodePages, Depends(get_pages)]
ClaimsDep = Annotated[ClaimChecker, Depends(get_claims)]


def client_key(header_key: str | None, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if header_key:
        return header_key.strip()
    if credentials is not None and credentials.credentials:
        return credentials.credentials.strip()
    return None


async def access(request: Request, response: Response, runtime: Runtime = Depends(get_runtime),
           header_key: str | None = Depends(api_key_header),
           credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    """Who is calling (guest or a key) and whether their daily quota allows one more request."""
    key = client_key(header_key, credentials)
    if key is not None:
        principal = runtime.keys.verify(key)
        if principal is None:
            runtime.metrics.auth_failures.inc()
            raise ApiError(401, "invalid API key: send a valid key in X-API-Key or Authorization: Bearer, "
                                "or no key at all for the guest tier",
                           headers={"WWW-Authenticate": 'Bearer realm="casepilot"'})
    else:
        if runtime.settings.guest_quota_per_day <= 0:
            raise ApiError(401, "an API key is required on this server",
                           headers={"WWW-Authenticate": 'Bearer realm="casepilot"'})
        host = request.client.host if request.client else "unknown"
        principal = Principal(tier="guest", identity=f"ip:{host}")
    request.state.principal = principal
    allowed, limit, remaining = runtime.quotas.hit(principal)
    if not allowed:
        runtime.metrics.quota_rejections.labels(principal.tier).inc()
        retry = runtime.quotas.retry_after()
        raise ApiError(429, f"the {principal.tier} quota of {limit} requests per day is used up; it resets at "
                            f"midnight UTC" + (" (an API key gives a larger quota)" if principal.tier == "guest" else ""),
                       headers={"Retry-After": str(retry), "X-RateLimit-Limit": str(limit),
                                "X-RateLimit-Remaining": "0"},
                       tier=principal.tier, limit=limit, retry_after=retry)
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    return principal
