"""Case2Code on the web: server-rendered code pages, search, the question box, and accounts (api/web).

``install(app, runtime)`` adds the pages' routes, their static files (``/web-static``), their security headers
and ``app.state.web``. Pages work without JavaScript; ``pages.js`` hands the question box to the chat widget
when it is loaded.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.runtime import Runtime
from api.web.security import SecurityHeadersMiddleware
from api.web.state import STATIC, WebState


def install(app: FastAPI, runtime: Runtime) -> None:
    from api.web import account, pages

    app.state.web = WebState(runtime)
    app.include_router(pages.router)
    app.include_router(account.router)
    app.mount("/web-static", StaticFiles(directory=STATIC), name="web-static")
    settings = runtime.settings
    ancestors = settings.frame_ancestors if settings.frame_ancestors is not None else list(settings.cors_origins)
    app.add_middleware(SecurityHeadersMiddleware, frame_ancestors=ancestors)
