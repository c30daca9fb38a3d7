"""What the pages hold while the app runs (``app.state.web``): accounts, sessions, the page-view and question
quotas, the outbox for sign-in mails and the templates; and the per-request helpers built on them (who is
asking, CSRF tokens, cookies)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.templating import Jinja2Templates

from api.access import Principal, Quotas
from api.accounts import Accounts
from api.mail.config import MailConfig
from api.mail.consultant import Outbox
from api.runtime import Runtime
from api.web.pagecache import BodyCache
from api.web.sessions import SESSION_COOKIE, Session, Sessions
from rag.settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
CSRF_COOKIE = "cp_csrf"


class CsrfError(Exception):
    pass


@dataclass
class Visitor:
    """Who is looking at a page: a signed-in account, or a guest counted by address."""

    principal: Principal
    session: Session | None
    session_token: str | None
    csrf: str
    new_csrf_cookie: bool


class WebState:
    def __init__(self, runtime: Runtime):
        settings: Settings = runtime.settings
        self.runtime, self.settings = runtime, settings
        accounts = getattr(runtime.keys, "accounts", None)
        self.accounts: Accounts = accounts if accounts is not None else Accounts(settings.accounts_path)
        self.sessions = Sessions(settings.redis_url, settings.session_days)

        def clock():  # one clock for every quota, so a test's injected clock moves them all
            return runtime.quotas.clock()

        storage = runtime.quotas.storage
        self.page_views = Quotas({"guest": settings.guest_page_views_per_day,
                                  "registered": settings.registered_page_views_per_day},
                                 storage, clock=clock, namespace="page-views")
        self.questions = Quotas({"guest": settings.guest_questions_per_day,
                                 "registered": settings.registered_questions_per_day},
                                storage, clock=clock, namespace="page-questions")
        # Sign-in mails per address per day: registration must not become a way to flood someone's inbox.
        self.sign_in_mails = Quotas({"guest": 5}, storage, clock=clock, namespace="sign-in-mails")
        self.outbox = Outbox(MailConfig.from_settings(settings))
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.bodies = BodyCache()

    # ------------------------------------------------------------ visitors

    def visitor(self, request: Request) -> Visitor:
        token = request.cookies.get(SESSION_COOKIE)
        session = self.sessions.get(token)
        if session is not None:
            principal = Principal("registered", f"account:{session.account_id}", session.email)
            return Visitor(principal, session, token, session.csrf, False)
        host = request.client.host if request.client else "unknown"
        cookie = request.cookies.get(CSRF_COOKIE, "")
        fresh = not (16 <= len(cookie) <= 100)
        return Visitor(Principal("guest", f"ip:{host}"), None, None,
                       secrets.token_urlsafe(24) if fresh else cookie, fresh)

    def check_csrf(self, request: Request, visitor: Visitor, submitted: str) -> None:
        """Synchronizer token for a session, double-submit cookie for a guest; and a foreign Origin is refused."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.rstrip("/") != str(request.base_url).rstrip("/"):
            raise CsrfError("the form was sent from another site")
        if visitor.new_csrf_cookie or not submitted or not hmac.compare_digest(submitted, visitor.csrf):
            raise CsrfError("the form has expired or was not sent from this site: reload the page and try again")

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None,
                   samesite: str = "lax") -> None:
        response.set_cookie(name, value, max_age=max_age, httponly=True, secure=self.settings.cookie_secure,
                            samesite=samesite, path="/")

    def finish(self, response: Response, visitor: Visitor) -> Response:
        if visitor.new_csrf_cookie:
            self.set_cookie(response, CSRF_COOKIE, visitor.csrf, None, samesite="strict")
        response.headers.setdefault("Cache-Control", "private, no-store" if visitor.session else "no-cache")
        return response

    def render(self, request: Request, visitor: Visitor, template: str, status: int = 200, **context) -> Response:
        response = self.templates.TemplateResponse(request, template, {
            "visitor": visitor, "signed_in": visitor.session is not None, "csrf": visitor.csrf, **context},
            status_code=status)
        return self.finish(response, visitor)


def web_state(request: Request) -> WebState:
    return request.app.state.web


WebStateDep = Annotated[WebState, Depends(web_state)]
