"""Security headers for the pages (ASGI middleware over the web paths only; the API and the widget's own
routes keep theirs): a strict CSP (scripts and styles from this origin; the widget's shadow-root styles are
inline), frame-ancestors limited to the origins allowed to embed the widget, nosniff, referrer policy."""

from __future__ import annotations

PAGE_PREFIXES = ("/codes", "/search", "/ask", "/account", "/register", "/sign-in", "/sign-out", "/web-static")


def content_security_policy(frame_ancestors: list[str]) -> str:
    ancestors = " ".join(["'self'", *frame_ancestors])
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            f"connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors {ancestors}")


class SecurityHeadersMiddleware:
    def __init__(self, app, frame_ancestors: list[str]):
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(frame_ancestors).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(PAGE_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in self.headers if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, with_headers)
