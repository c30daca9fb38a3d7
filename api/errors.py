"""One JSON error shape for every failure: {"error": "...", ...}. Request bodies are never echoed or logged."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.codepage import CodeNotFound
from rag.service import QuestionError

log = logging.getLogger("casepilot.api")


class ApiError(Exception):
    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None, **extra):
        super().__init__(error)
        self.status, self.error, self.headers, self.extra = status, error, headers or {}, extra


def _problems(errors) -> list[dict]:
    """Validation problems without the offending input (it may hold patient details or undecodable bytes)."""
    problems = []
    for error in errors:
        loc = [part if isinstance(part, (int, str)) else str(part) for part in error.get("loc", ())]
        problems.append({"loc": loc, "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))})
    return problems


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.error, **exc.extra}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(QuestionError)
    async def question_error(request: Request, exc: QuestionError):
        return JSONResponse({"error": f"invalid question: {exc}"}, status_code=422)

    @app.exception_handler(CodeNotFound)
    async def code_not_found(request: Request, exc: CodeNotFound):
        return JSONResponse({"error": str(exc), "code": exc.code, "suggestions": exc.suggestions}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = _problems(exc.errors())
        first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        message = f"invalid request: {where + ': ' if where else ''}{first['msg']}"
        if first.get("type") == "json_invalid":
            message = "invalid request: the body is not valid JSON"
        return JSONResponse({"error": message, "detail": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError):
            return JSONResponse({"error": "invalid request: the body is not valid UTF-8"}, status_code=422)
        if exc.status_code == 400 and isinstance(cause, (ValueError, RecursionError)):
            # RecursionError: JSON nested deeper than the parser goes; documented as a 422 like any bad body
            return JSONResponse({"error": "invalid request: the body could not be parsed"}, status_code=422)
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        route = request.scope.get("route")
        log.error("unhandled error on %s %s: %s", request.method, getattr(route, "path", "?"),
                  type(exc).__name__, exc_info=exc)
        return JSONResponse({"error": "internal error; it has been logged"}, status_code=500)
