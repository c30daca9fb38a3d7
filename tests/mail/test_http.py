"""POST /v1/mail over a real uvicorn server on loopback: the real app (create_app over the session's query
service) with the mail router included, the same messages as the SMTP tests, the reply read from the Maildir."""

from __future__ import annotations

import mailbox
from email import message_from_bytes
from email.policy import default as default_policy

import httpx
import pytest

import mail_messages as m
from mail_messages import status

pytestmark = [pytest.mark.http, pytest.mark.store, pytest.mark.shared_data]

RFC822 = {"Content-Type": "message/rfc822"}


def post(server, raw: bytes, headers: dict | None = None) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=300) as client:
        return client.post("/v1/mail", content=raw, headers=headers or RFC822)


def outbox(server) -> list:
    config = server.app.state.mail.config
    if not config.outbox.exists():
        return []
    box = mailbox.Maildir(config.outbox, factory=None, create=False)
    return [message_from_bytes(box.get_bytes(key), policy=default_policy) for key in box.iterkeys()]


def test_mail_is_answered_and_the_reply_written_to_the_outbox(mail_app):
    msg = m.message(m.PAIR_QUESTION, subject="Kyphoplasty pair", references="<earlier@clinic.example>",
                    message_id="<http-1@clinic.example>")
    with mail_app() as server:
        response = post(server, m.raw(msg))
        assert response.status_code == 200, response.text
        body = response.json()
        (reply,) = outbox(server)
    assert body["status"] == "answered" and body["subject"] == "Re: Kyphoplasty pair"
    assert body["in_reply_to"] == "<http-1@clinic.example>"
    assert body["references"] == ["<earlier@clinic.example>", "<http-1@clinic.example>"]
    assert body["delivered"].startswith("maildir:")
    (question,) = body["questions"]
    answer = question["answer"]
    assert question["question"] == m.PAIR_QUESTION and not answer["abstained"]
    assert answer["citations"] and all(c["title"] and c["version"] and c["locator"] for c in answer["citations"])
    assert {c["code"]: c["status"] for c in answer["codes"]}.items() >= {"22511": "valid", "22514": "valid"}.items()
    assert reply["Message-ID"] == body["message_id"] and reply["In-Reply-To"] == "<http-1@clinic.example>"
    text = reply.get_body(("plain",)).get_content()
    assert status(text, "22511") == "VALID" and "[1] " in text and "https://www.cms.gov" in text
    assert response.headers["X-RateLimit-Limit"]  # the API's own access dependency ran


def test_unknown_sender_is_403_and_not_answered(mail_app):
    with mail_app() as server:
        response = post(server, m.raw(m.message(sender="someone@elsewhere.example")))
        assert response.status_code == 403
        assert response.json()["refusal"] == "not_allowed"
        assert "not on CasePilot's allow-list" in response.json()["error"]
        assert outbox(server) == []


def test_oversize_is_413(mail_app):
    big = m.raw(m.message("Is 22511 valid?", attachments=[("scan.bin", "application/octet-stream",
                                                            b"\0" * (20 * 1024 * 1024))]))
    with mail_app(max_bytes=10 * 1024 * 1024) as server:
        response = post(server, big)
        assert response.status_code == 413 and "error" in response.json()
    small_limit = 4 * 1024  # settings.mail.max_bytes is also the app's request body limit on /v1/mail
    with mail_app(max_bytes=small_limit) as server:
        medium = m.raw(m.message("Is 22511 valid?", attachments=[("a.bin", "application/octet-stream",
                                                                   b"\1" * 8000)]))
        response = post(server, medium)
        assert response.status_code == 413
        assert "4096 bytes" in response.json()["error"] or "4 KB limit" in response.json()["error"]
        assert post(server, m.raw(m.message("Is 22511 valid?"))).status_code == 200


@pytest.mark.parametrize("raw, message_id, expected", [
    (m.WINDOWS_1252, "<cp1252@clinic.example>", "patient\u2019s L2 fracture \u2013 both"),
    (m.raw(m.message(html=f"<p>Hi,</p><p>{m.PAIR_QUESTION}</p>", html_only=True,
                     message_id="<html@clinic.example>")), "<html@clinic.example>", m.PAIR_QUESTION),
])
def test_charsets_and_html_only_are_answered(mail_app, raw, message_id, expected):
    with mail_app() as server:
        response = post(server, raw, headers={"Content-Type": "text/plain"})
        assert response.status_code == 200, response.text
        body = response.json()
    assert body["in_reply_to"] == message_id and body["could_not_read"] == []
    (question,) = body["questions"]
    assert expected in question["question"] and question["answer"]["citations"]


def test_quoted_reply_is_not_answered(mail_app):
    msg = m.message(m.QUOTED_REPLY_BODY, subject="Re: Coding question", references="<a1@casepilot.test>")
    with mail_app() as server:
        body = post(server, m.raw(msg)).json()
    assert [q["question"] for q in body["questions"]] == [m.PAIR_QUESTION]
    assert body["subject"] == "Re: Coding question"


def test_bad_input(mail_app):
    with mail_app() as server:
        response = post(server, m.NOT_MAIL)
        assert response.status_code == 422 and "no From address" in response.json()["error"]
        response = post(server, m.raw(m.message()), headers={"Content-Type": "application/json"})
        assert response.status_code == 415
        body = post(server, m.UNKNOWN_CHARSET).json()
        assert "unknown character set" in body["could_not_read"][0] and body["questions"][0]["answer"]["citations"]
        body = post(server, m.DAMAGED_MIME).json()
        assert any("MIME structure is damaged" in p for p in body["could_not_read"])
        body = post(server, m.EMPTY_BODY).json()
        assert body["questions"] == []
        assert post(server, m.raw(m.message())).status_code == 200  # still answering


def test_sender_quota_is_429_and_shared_with_the_app(mail_app):
    with mail_app(settings={"registered_quota_per_day": 1}) as server:
        assert post(server, m.raw(m.message("Is 22511 valid?"))).status_code == 200
        response = post(server, m.raw(m.message("Is 22514 valid?")))
        assert response.status_code == 429 and response.headers["Retry-After"]
        assert "quota of 1 messages per day" in response.json()["error"]
        assert server.app.state.mail.quotas is server.app.state.runtime.quotas


def test_the_app_starts_the_smtp_listener_when_enabled(mail_app):
    """The router's lifespan (merged into the app's) runs the listener over the app's own query service."""
    import smtplib

    from loopback import free_port

    port = free_port()
    with mail_app(smtp_enabled=True, smtp_port=port) as server:
        listener = server.app.state.mail_listener
        assert listener is not None and listener.port == port
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            client.send_message(m.message(message_id="<via-app@clinic.example>"))
        assert listener.queue.join(300)
        (reply,) = outbox(server)
    assert reply["In-Reply-To"] == "<via-app@clinic.example>"
    assert "Sources:" in reply.get_body(("plain",)).get_content()
    with pytest.raises(OSError):  # stopped with the app
        smtplib.SMTP("127.0.0.1", port, timeout=5)
