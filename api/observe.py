"""Metrics (Prometheus text format), the access log, the request body limit and the security headers, as plain
ASGI middleware.

Routes are labelled by their template (``/v1/codes/{code}``), never by the raw path or query string, so
label cardinality stays bounded and no code, search text or question reaches a metric or a log line.
"""

from __future__ import annotations

import json
import logging
import time

from fastapi import HTTPException
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger("casepilot.api")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("casepilot_http_requests_total", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("casepilot_http_request_duration_seconds", "HTTP request latency",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.answers = Counter("casepilot_answers_total", "Answers given", ["endpoint"], registry=self.registry)
        self.abstentions = Counter("casepilot_answer_abstentions_total", "Answers where CasePilot declined to "
                                   "answer for want of evidence", ["endpoint"], registry=self.registry)
        self.removed_codes = Counter("casepilot_removed_codes_total", "Codes the code guard removed from answers",
                                     registry=self.registry)
        self.quota_rejections = Counter("casepilot_quota_rejections_total", "Requests refused for quota",
                                        ["tier"], registry=self.registry)
        self.auth_failures = Counter("casepilot_auth_failures_total", "Requests with an invalid API key",
                                     registry=self.registry)
        self.cache = Counter("casepilot_response_cache_total", "Response cache lookups", ["cache", "result"],
                             registry=self.registry)
        self.ready = Gauge("casepilot_ready", "1 once the query service is ready", registry=self.registry)

    def answered(self, endpoint: str, abstained: bool, removed: int) -> None:
        self.answers.labels(endpoint).inc()
        if abstained:
            self.abstentions.labels(endpoint).inc()
        if removed:
            self.removed_codes.inc(removed)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _route_of(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


class ObserveMiddleware:
    """Counts and times every request by route template and writes one access-log line without the query."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route, method = _route_of(scope), scope.get("method", "")
            self.metrics.requests.labels(route, method, str(status["code"])).inc()
            self.metrics.latency.labels(route, method).observe(elapsed)
            principal = scope.get("state", {}).get("principal")
            log.info("%s %s %s %.1fms tier=%s", method, route, status["code"], elapsed * 1000,
                     getattr(principal, "tier", "-"))


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes``: at once from Content-Length, or while a chunked body streams in."""

    def __init__(self, app, max_bytes: int, per_path: dict[str, int] | None = None):
        self.app, self.default_max_bytes, self.per_path = app, max_bytes, per_path or {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.per_path.get(scope.get("path", ""), self.default_max_bytes)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > max_bytes
            except ValueError:
                too_big = False
            if too_big:
                return await self._reject(send, max_bytes)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise HTTPException(413, f"the request body is over {max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)

    async def _reject(self, send, max_bytes: int):
        body = json.dumps({"error": f"the request body is over {max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


# The demo page and the widget: scripts and connections to this origin only; the page's own <style> and the
# style element the widget adds need 'unsafe-inline' for styles (never for scripts); nobody may frame the page.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
# JSON and text responses load nothing and are never framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# FastAPI's /docs and /redoc pages load Swagger UI / ReDoc from a CDN with inline scripts: only framing is denied.
DOCS_CSP = "frame-ancestors 'none'"
PAGE_PATHS = ("/", "/widget.js")
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")


def content_security_policy(path: str) -> str:
    if path in PAGE_PATHS or path.startswith("/static/"):
        return PAGE_CSP
    if path in DOCS_PATHS:
        return DOCS_CSP
    return API_CSP


class SecurityHeadersMiddleware:
    """Content-Security-Policy (with frame-ancestors), X-Content-Type-Options: nosniff and Referrer-Policy:
    no-referrer on every HTTP response, unless the response set its own."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        added = [(b"content-security-policy", content_security_policy(scope.get("path", "")).encode()),
                 (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(name, value) for name, value in added if name not in present]]
            await send(message)

        await self.app(scope, receive, send_with_headers)
