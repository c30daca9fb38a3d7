"""The HTTP API: one factory, ``create_app(settings, casepilot=None)``.

Pass a CasePilot (rag.app) to serve it (tests inject the session's; the embedded vector store can be opened
by one process, once). Without one, the app opens ``CasePilot.open(settings)`` in a background thread at
startup: /healthz answers at once, /readyz says 503 until the service is ready, and /v1 endpoints
say 503 with Retry-After meanwhile. See api.access for keys, quotas and what the logs may hold.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from rag.app import CasePilot
from rag.settings import Settings, get_settings

from api import errors, web
from api.observe import BodyLimitMiddleware, ObserveMiddleware, SecurityHeadersMiddleware
from api.routers import ask, claims, codes, health, mail, modifiers, widget
from api.runtime import Runtime

DESCRIPTION = """Grounded answers for medical coders: every fact cited (dataset, version, row or passage), every
code checked against the reference data (CMS HCPCS and NCCI tables, CDC ICD-10-CM, CasePilot's own CPT and
modifier descriptions). Send an API key in `X-API-Key` (or `Authorization: Bearer`) for the registered tier;
without one, requests use the guest tier. Both have daily quotas (429 with Retry-After when used up)."""


def create_app(settings: Settings | None = None, casepilot: CasePilot | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = Runtime(settings, casepilot)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        runtime.start()
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(title="CasePilot API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.settings = settings
    errors.install(app)
    for module in (ask, codes, claims, modifiers, health, widget):
        app.include_router(module.router)
    per_path: dict[str, int] = {}
    if mail.mail_configured(settings):  # no mail parser is exposed until someone may be answered
        app.include_router(mail.router)
        per_path["/v1/mail"] = settings.mail.max_bytes
    app.mount("/static", StaticFiles(directory=widget.STATIC), name="static")
    web.install(app, runtime)  # the pages: /codes/{code}, /search, /ask, accounts (api/web)
    # Added last = outermost: metrics see every response, including CORS preflights and 413s.
    app.add_middleware(BodyLimitMiddleware,
                       max_bytes=settings.max_body_bytes,
                       per_path=per_path)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=False,
                       allow_methods=["GET", "POST", "OPTIONS"],
                       allow_headers=["Content-Type", "X-API-Key", "Authorization"],
                       expose_headers=["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"], max_age=600)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(ObserveMiddleware, metrics=runtime.metrics)
    _document_optional_auth(app)
    return app


def _document_optional_auth(app: FastAPI) -> None:
    """Keys are optional (no key = the guest tier): say so in OpenAPI with an empty security requirement."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    if isinstance(operation, dict) and operation.get("security") and {} not in operation["security"]:
                        operation["security"].insert(0, {})
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
