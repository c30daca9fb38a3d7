"""Registration, sign-in links, sign-out and the account page with its API keys.

Registering is giving an email address: the account is made (or found) and a one-time sign-in link is written
through the mail outbox (the SMTP relay when configured, else the Maildir ``data_dir/outbox``). The link opens
a page whose button signs in (a POST: mail scanners that fetch links must not spend the token). Signed in, the
account page creates and revokes API keys; a new key is shown once.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.access import Principal
from api.accounts import AccountError
from api.web.sessions import SESSION_COOKIE
from api.web.state import CsrfError, WebState, WebStateDep

log = logging.getLogger("casepilot.web")
router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Only a path on this site (never ``//host`` or a scheme): the link must not send anyone elsewhere."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 300:
        return "/account"
    return value


def sign_in_mail(state: WebState, request: Request, email: str, link: str) -> EmailMessage:
    settings = state.settings
    message = EmailMessage()
    message["From"] = formataddr((settings.mail.display_name.replace("CaseConsultant", "").strip() or "CasePilot",
                                  settings.mail.address))
    message["To"] = email
    message["Subject"] = "Your CasePilot sign-in link"
    message["Message-ID"] = make_msgid(domain=settings.mail.address.rpartition("@")[2] or "casepilot.localhost")
    message["Date"] = formatdate(usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    minutes = settings.sign_in_link_minutes
    message.set_content(f"Hello,\n\nopen this link to sign in to CasePilot (it works once, for {minutes} minutes):\n\n"
                        f"{link}\n\nIf you did not ask for it, ignore this message: nothing happens without the "
                        "link.\n\n-- CasePilot\n")
    return message


@router.get("/register")
async def register_form(request: Request, state: WebStateDep, next: str = Query("/account")) -> Response:
    visitor = state.visitor(request)
    return state.render(request, visitor, "register.html", next=safe_next(next), email="",
                        title="Register free account - CasePilot",
                        description="Register a free CasePilot account with your email address.")


@router.post("/register")
async def register(request: Request, state: WebStateDep, email: str = Form("", max_length=320),
                   next: str = Form("/account"), csrf: str = Form("")) -> Response:
    visitor = state.visitor(request)
    context = {"next": safe_next(next), "email": email[:320], "title": "Register free account - CasePilot",
               "description": "Register a free CasePilot account with your email address."}
    try:
        state.check_csrf(request, visitor, csrf)
        account = state.accounts.register(email)
    except (CsrfError, AccountError) as error:
        status = 403 if isinstance(error, CsrfError) else 400
        return state.render(request, visitor, "register.html", status, error=str(error), **context)
    allowed, _, _ = state.sign_in_mails.hit(Principal("guest", f"mail:{account.email.lower()}"))
    if allowed:
        token = state.accounts.issue_sign_in_token(account, state.settings.sign_in_link_minutes)
        base = (state.settings.public_url or str(request.base_url)).rstrip("/")
        link = f"{base}/sign-in?{urlencode({'token': token, 'next': context['next']})}"
        where = await run_in_threadpool(state.outbox.deliver, sign_in_mail(state, request, account.email, link))
        log.info("sign-in link for account %s written to %s", account.id, where.partition(":")[0])
    else:
        log.warning("sign-in mails for account %s over today's limit: none sent", account.id)
    return state.render(request, visitor, "message.html", title="Check your email - CasePilot",
                        message=f"We sent a sign-in link to {account.email}. Open it in this browser to continue.",
                        heading="Check your email")


@router.get("/sign-in")
async def sign_in_form(request: Request, state: WebStateDep, token: str = Query("", max_length=200),
                       next: str = Query("/account")) -> Response:
    visitor = state.visitor(request)
    return state.render(request, visitor, "sign_in.html", token=token, next=safe_next(next),
                        title="Sign in - CasePilot", description="Sign in to CasePilot.")


@router.post("/sign-in")
async def sign_in(request: Request, state: WebStateDep, token: str = Form("", max_length=200),
                  next: str = Form("/account"), csrf: str = Form("")) -> Response:
    visitor = state.visitor(request)
    try:
        state.check_csrf(request, visitor, csrf)
    except CsrfError as error:
        return state.render(request, visitor, "sign_in.html", 403, token=token, next=safe_next(next),
                            error=str(error), title="Sign in - CasePilot")
    account = state.accounts.redeem(token)
    if account is None:
        return state.render(request, visitor, "message.html", 400, title="Sign-in link expired - CasePilot",
                            heading="This sign-in link has expired or was already used",
                            message="Register again with your email address to get a new link.", register=True)
    if visitor.session_token:
        state.sessions.end(visitor.session_token)  # a new session id on every sign-in (no fixation)
    session_token = state.sessions.create(account.id, account.email)
    response = RedirectResponse(safe_next(next), status_code=303)
    state.set_cookie(response, SESSION_COOKIE, session_token, state.settings.session_days * 86_400)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, state: WebStateDep, csrf: str = Form("")) -> Response:
    visitor = state.visitor(request)
    try:
        state.check_csrf(request, visitor, csrf)
    except CsrfError as error:
        return state.render(request, visitor, "message.html", 403, title="Sign out - CasePilot",
                            heading="Not signed out", message=str(error))
    state.sessions.end(visitor.session_token)
    response = RedirectResponse("/search", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=state.settings.cookie_secure, httponly=True)
    return response


def _account_page(request: Request, state: WebState, visitor, status: int = 200, **extra) -> Response:
    account = state.accounts.get(visitor.session.account_id)
    if account is None:  # deleted meanwhile
        return RedirectResponse("/register", status_code=303)
    return state.render(request, visitor, "account.html", status, account=account,
                        keys=state.accounts.keys(account),
                        views_left=state.page_views.remaining(visitor.principal),
                        views_limit=state.page_views.limits["registered"],
                        questions_left=state.questions.remaining(visitor.principal),
                        questions_limit=state.questions.limits["registered"],
                        title="Your account - CasePilot", description="Your CasePilot account and API keys.", **extra)


@router.get("/account")
async def account_page(request: Request, state: WebStateDep) -> Response:
    visitor = state.visitor(request)
    if visitor.session is None:
        return RedirectResponse("/register?next=/account", status_code=303)
    return _account_page(request, state, visitor)


@router.post("/account/keys")
async def create_key(request: Request, state: WebStateDep, name: str = Form("", max_length=200),
                     csrf: str = Form("")) -> Response:
    visitor = state.visitor(request)
    if visitor.session is None:
        return RedirectResponse("/register?next=/account", status_code=303)
    try:
        state.check_csrf(request, visitor, csrf)
        account = state.accounts.get(visitor.session.account_id)
        key = state.accounts.create_key(account, name)
    except (CsrfError, AccountError) as error:
        return _account_page(request, state, visitor, 403 if isinstance(error, CsrfError) else 400, error=str(error))
    return _account_page(request, state, visitor, 201, new_key=key)


@router.post("/account/keys/{key_id}/revoke")
async def revoke_key(request: Request, state: WebStateDep, key_id: str, csrf: str = Form("")) -> Response:
    visitor = state.visitor(request)
    if visitor.session is None:
        return RedirectResponse("/register?next=/account", status_code=303)
    try:
        state.check_csrf(request, visitor, csrf)
    except CsrfError as error:
        return _account_page(request, state, visitor, 403, error=str(error))
    account = state.accounts.get(visitor.session.account_id)
    if not state.accounts.revoke_key(account, key_id[:40]):
        return _account_page(request, state, visitor, 404, error="No such key on this account.")
    return RedirectResponse("/account", status_code=303)
