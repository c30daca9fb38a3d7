"""POST /v1/mail: one raw RFC 822 message in, answered by mail (the reply is delivered as for the SMTP intake:
the relay, else the Maildir outbox data_dir/outbox), and a JSON summary of the reply back.

Mounted only when mail is configured (``mail.allowed_senders`` is not empty: see :func:`mail_configured`), so a
default server offers no mail parser to the internet. The router's lifespan also starts the SMTP listener when
``mail.smtp_enabled`` is set (FastAPI merges an
included router's lifespan into the app's), so one process holds the query service for both intakes.

Errors, as the rest of the API ({"error": ...}), with ``refusal`` naming the kind: 403 sender not on the
allow-list or not authenticated, 413 message over ``mail.max_bytes``, 415 not message/rfc822 or text/plain, 422
unreadable or automatic message, 429 the sender's or its domain's daily quota is used up, or this client sent
more than ``mail.client_per_minute`` messages in a minute (Retry-After).
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import access, get_service
from api.errors import ApiError
from api.mail.config import MailConfig
from api.mail.consultant import MailConsultant, MailRefused, refuse_size
from api.models import ErrorBody, QuotaBody
from api.routers.common import ACCESS_RESPONSES
from rag.answer import Answer
from rag.service import QueryService

MAIL_TYPES = ("message/rfc822", "text/plain")


def mail_configured(settings) -> bool:
    """Whether the mail intake is offered at all: only once someone may be answered."""
    return bool(settings.mail.allowed_senders)


def get_consultant(app: FastAPI) -> MailConsultant:
    """The app's consultant, made on first use: its config from ``app.state.mail_config`` when set (tests),
    else from the app's settings; the app's quotas and metrics; the runtime's query service."""
    consultant = getattr(app.state, "mail", None)
    if consultant is None:
        runtime = getattr(app.state, "runtime", None)
        settings = getattr(app.state, "settings", None) or getattr(runtime, "settings", None)
        if settings is None:
            from rag.settings import get_settings

            settings = get_settings()
        config = getattr(app.state, "mail_config", None) or MailConfig.from_settings(settings)
        consultant = MailConsultant(config, service=(lambda: runtime.service) if runtime is not None else None,
                                    quotas=getattr(runtime, "quotas", None), metrics=getattr(runtime, "metrics", None))
        app.state.mail = consultant
    return consultant


@asynccontextmanager
async def mail_lifespan(app: FastAPI):
    consultant = get_consultant(app)
    listener = None
    if consultant.config.smtp_enabled:
        from api.mail.smtp import MailListener

        listener = MailListener(consultant)
        await asyncio.to_thread(listener.start)
    app.state.mail_listener = listener
    try:
        yield
    finally:
        if listener is not None:
            await asyncio.to_thread(listener.stop)


router = APIRouter(prefix="/v1", tags=["mail"], lifespan=mail_lifespan)


class MailRefusalBody(BaseModel):
    error: str = Field(description="why the message was not answered, in words (nothing of the message is quoted)")
    refusal: str = Field(description="not_allowed, not_authenticated, too_large, unreadable, automatic, quota, "
                                     "domain_quota, rate or media_type")


class MailQuestion(BaseModel):
    question: str
    answer: Answer | None = None
    error: str = Field("", description="why the question was not answered (too long, internal error)")


class MailReply(BaseModel):
    status: Literal["answered"] = "answered"
    to: str
    subject: str
    message_id: str
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    delivered: str = Field(description="maildir:<key> (data_dir/outbox) or relay:<host>:<port>")
    questions: list[MailQuestion]
    could_not_read: list[str] = Field(default_factory=list)
    attachments_not_read: list[str] = Field(default_factory=list)
    not_answered: list[str] = Field(default_factory=list, description="questions over the per-message limit")


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        refusal = refuse_size(limit, int(declared))
        raise ApiError(refusal.http_status, refusal.reason, headers={"Connection": "close"}, refusal=refusal.kind)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            refusal = refuse_size(limit)
            raise ApiError(refusal.http_status, refusal.reason, headers={"Connection": "close"},
                           refusal=refusal.kind)
        chunks.append(chunk)
    return b"".join(chunks)


MAIL_DOC = """Send one raw Internet message (RFC 822/5322, as a mail server would store it) with Content-Type
`message/rfc822` (or `text/plain`). If its From: address is on the allow-list and within its daily quota, each
question in it is answered with numbered citations and checked codes; the reply (Re: subject, In-Reply-To,
References, plain text and HTML) is delivered to the SMTP relay, or written to the Maildir outbox, and
summarised here. Quoted replies and signatures are ignored; attachments are listed, not read."""


@router.post("/mail", response_model=MailReply, summary="Answer the coding questions in one email message",
             description=MAIL_DOC, dependencies=[Depends(access)],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "message/rfc822": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}}},
             responses={**ACCESS_RESPONSES,
                        403: {"model": MailRefusalBody, "description": "the sender is not on the allow-list, or "
                                                                       "its From: address is not authenticated"},
                        422: {"model": ErrorBody | MailRefusalBody, "description": "the request or the message "
                                                                                     "is not valid, or automatic"},
                        429: {"model": QuotaBody | MailRefusalBody, "description": "a quota or the per-client "
                                                                                     "rate is used up; see Retry-After",
                              "headers": {"Retry-After": {"description": "seconds to wait",
                                                          "schema": {"type": "integer"}}}},
                        415: {"model": MailRefusalBody,
                              "description": "the body is not message/rfc822 or text/plain"}})
async def mail(request: Request, service: QueryService = Depends(get_service)) -> MailReply:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in MAIL_TYPES:
        raise ApiError(415, "send one raw email message with Content-Type: message/rfc822 (or text/plain)",
                       refusal="media_type")
    consultant = get_consultant(request.app)
    raw = await read_limited(request, consultant.config.max_bytes)
    try:
        client = request.client.host if request.client else "unknown"
        consultant.screen(raw, client=client)  # on the event loop: refusals never wait for a handler thread
        parsed = await run_in_threadpool(lambda: consultant.admit(raw, screened=True))
    except MailRefused as refusal:
        raise ApiError(refusal.http_status, refusal.reason, headers=refusal.headers, refusal=refusal.kind) from None
    handled = await run_in_threadpool(consultant.respond, parsed)
    reply = handled.reply
    return MailReply(
        to=str(reply["To"]), subject=str(reply["Subject"]), message_id=str(reply["Message-ID"]),
        in_reply_to=str(reply["In-Reply-To"]) if reply["In-Reply-To"] else None,
        references=str(reply["References"] or "").split(), delivered=handled.delivered,
        questions=[MailQuestion(question=r.question, answer=r.answer, error=r.error) for r in handled.results],
        could_not_read=parsed.problems, attachments_not_read=[a.describe() for a in parsed.attachments],
        not_answered=parsed.skipped_questions)
