"""Issue 15, findings 1, 5 and 6: the mail intake under attack, over real loopback servers (uvicorn for
POST /v1/mail, aiosmtpd for SMTP) and the session's query service.

Finding 1 (one small email ties up a core): the sender is checked on the header block before any body is
parsed; HTML is capped and turned into text in linear time; /v1/mail exists only when mail is configured;
per-client and per-domain limits. The client timeouts below are hang guards (the old code took a minute for
100 KB and hours for 1 MB), not speed targets: benchmarks/bench_mail.py --dos measures the refusal time.
Finding 5 (senders taken at their word): Authentication-Results or envelope == From; quotas on the mailbox
(+tags folded) and on the allowed domain; per-connection limits; refusals quote nothing of the message.
Finding 6 (a non-ASCII From: crashed the refusal and was logged).
"""

from __future__ import annotations

import logging
import smtplib
import socket

import httpx
import mail_messages as m
import pytest
from loopback import ThreadServer

pytestmark = [pytest.mark.http, pytest.mark.store, pytest.mark.shared_data]

RFC822 = {"Content-Type": "message/rfc822"}
HANG_GUARD_S = 30


def post(server, raw: bytes, timeout: float = 300) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=timeout) as client:
        return client.post("/v1/mail", content=raw, headers=RFC822)


def hostile_html(sender: str, size: int = 1024 * 1024) -> bytes:
    body = "x<br>" * (size // 5)
    msg = m.message(html=f"<html><body>{body}</body></html>", html_only=True, sender=sender)
    return m.raw(msg)


def raw_headers(from_line: bytes, subject: bytes = b"Coding question", extra: bytes = b"") -> bytes:
    return (from_line + b"\r\nTo: " + m.CONSULTANT.encode() + b"\r\nSubject: " + subject +
            b"\r\nMessage-ID: <raw-hardening@clinic.example>\r\n" + extra +
            b"Content-Type: text/plain; charset=utf-8\r\n\r\nIs 22511 a valid code?\r\n")


def smtp_converse(port: int, envelope: str, raw: bytes, utf8: bool = False) -> tuple[str, int, str]:
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        client.ehlo("tests.clinic.example")
        code, text = client.mail(envelope, ["SMTPUTF8"] if utf8 else [])
        if code != 250:
            return "MAIL", code, text.decode("utf-8", "replace")
        code, text = client.rcpt(m.CONSULTANT)
        if code != 250:
            return "RCPT", code, text.decode("utf-8", "replace")
        code, text = client.data(raw)
        return "DATA", code, text.decode("utf-8", "replace")


# ---------------------------------------------------------------- finding 1: the mail DoS

def test_a_hostile_html_body_from_an_unknown_sender_is_refused_without_being_parsed(mail_app):
    with mail_app() as server:
        response = post(server, hostile_html("stranger@elsewhere.example"), timeout=HANG_GUARD_S)
        assert response.status_code == 403 and response.json()["refusal"] == "not_allowed"
        assert post(server, m.raw(m.message("Is 22511 valid?"))).status_code == 200  # still serving


def test_a_hostile_html_body_from_an_allowed_sender_is_capped_and_read_in_linear_time(mail_app):
    with mail_app(max_html_bytes=64 * 1024) as server:
        response = post(server, hostile_html(m.ALLOWED), timeout=HANG_GUARD_S)
    assert response.status_code == 200, response.text
    assert any("longer than 64 KB" in problem for problem in response.json()["could_not_read"])


def test_mail_is_not_mounted_unless_configured(casepilot):
    from api.main import create_app
    from rag.settings import Settings

    app = create_app(Settings(data_dir=casepilot.settings.data_dir), casepilot=casepilot)
    with ThreadServer(app) as server:
        response = post(server, m.raw(m.message()))
        assert response.status_code == 404
        assert "/v1/mail" not in httpx.get(f"{server.url}/openapi.json").json()["paths"]


def test_one_client_is_limited_per_minute(mail_app):
    with mail_app(client_per_minute=2) as server:
        assert post(server, m.raw(m.message("Is 22511 valid?"))).status_code == 200
        assert post(server, m.raw(m.message(sender="stranger@elsewhere.example"))).status_code == 403
        response = post(server, m.raw(m.message("Is 22514 valid?")))
        assert response.status_code == 429 and response.json()["refusal"] == "rate"
        assert response.headers["Retry-After"] == "60"


# ---------------------------------------------------------------- finding 5: senders taken at their word

def test_a_spoofed_from_without_authentication_is_refused(mail_app):
    with mail_app() as server:
        response = post(server, m.raw(m.message(authenticated=False)))
        assert response.status_code == 403 and response.json()["refusal"] == "not_authenticated"
        forged = m.message(authenticated=False, headers={
            "Authentication-Results": m.authentication_results(authserv_id="mx.attacker.example")})
        assert post(server, m.raw(forged)).json()["refusal"] == "not_authenticated"
        other_domain = m.message(authenticated=False, headers={
            "Authentication-Results": "casepilot.test; dkim=pass header.d=attacker.example"})
        assert post(server, m.raw(other_domain)).json()["refusal"] == "not_authenticated"
        assert post(server, m.raw(m.message("Is 22511 valid?"))).status_code == 200  # dkim=pass, trusted id


def test_smtp_envelope_and_header_must_agree_without_authentication(smtp_listener):
    with smtp_listener() as listener:
        spoofed = m.raw(m.message(sender="boss@clinic.example", authenticated=False))
        step, code, text = smtp_converse(listener.port, "jane.coder@clinic.example", spoofed)
        assert (step, code) == ("DATA", 550) and "could not be verified" in text
        same = m.raw(m.message("Is 22511 valid?", authenticated=False))
        assert smtp_converse(listener.port, m.ALLOWED, same)[1] == 250
        assert listener.queue.join(300)


def test_rotating_tags_or_local_parts_does_not_beat_the_quota(mail_app):
    with mail_app(settings={"registered_quota_per_day": 1}, domain_quota_per_day=3) as server:
        assert post(server, m.raw(m.message("Is 22511 valid?", sender="jane+1@clinic.example"))).status_code == 200
        tagged = post(server, m.raw(m.message("Is 22514 valid?", sender="jane+2@clinic.example")))
        assert tagged.status_code == 429 and tagged.json()["refusal"] == "quota"
        for local in ("ann", "bob"):
            sender = f"{local}@billing.clinic.example"
            assert post(server, m.raw(m.message("Is 22511 valid?", sender=sender))).status_code == 200
        rotated = post(server, m.raw(m.message("Is 22511 valid?", sender="carl@clinic.example")))
        assert rotated.status_code == 429 and rotated.json()["refusal"] == "domain_quota"


def test_smtp_connections_and_messages_per_connection_are_limited(smtp_listener):
    with smtp_listener(smtp_connections_per_client=2, smtp_max_transactions=1) as listener:
        held = [socket.create_connection(("127.0.0.1", listener.port), timeout=30) for _ in range(2)]
        try:
            for sock in held:
                assert sock.recv(512).startswith(b"220")
            with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as third:
                assert third.recv(512).startswith(b"421 4.7.0 too many connections")
        finally:
            for sock in held:
                sock.close()
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=120) as client:
            client.ehlo("tests.clinic.example")
            client.sendmail(m.ALLOWED, [m.CONSULTANT], m.raw(m.message("Is 22511 valid?")))
            code, text = client.mail(m.ALLOWED)
            assert code == 452 and b"messages per connection" in text
        assert listener.queue.join(300)


def test_a_refusal_quotes_nothing_of_the_message(mail_app, smtp_listener):
    marker = "zq7marker"
    msg = m.message(f"{marker} body: open http://evil.example now", sender=f"{marker}@evil.example",
                    subject=f"URGENT {marker} subject")
    with mail_app() as server:
        response = post(server, m.raw(msg))
        assert response.status_code == 403 and marker not in response.text
    with smtp_listener() as listener:
        for envelope in (f"{marker}@evil.example", m.ALLOWED):  # refused at RCPT, then at DATA
            _, code, text = smtp_converse(listener.port, envelope, m.raw(msg))
            assert code == 550 and marker not in text
        assert not listener.consultant.config.outbox.exists() or not any(
            (listener.consultant.config.outbox / "new").iterdir())


# ---------------------------------------------------------------- finding 6: a non-ASCII From

NON_ASCII_FROM = b"From: J\xc3\xb6rg <j\xc3\xb6rg.secret@ex\xc3\xa4mple.example>"


def test_a_non_ascii_from_is_refused_cleanly_over_http(mail_app, caplog):
    caplog.set_level(logging.DEBUG)
    with mail_app() as server:
        response = post(server, raw_headers(NON_ASCII_FROM))
        assert response.status_code == 403, response.text
        assert response.json()["refusal"] == "not_allowed"
    assert_not_logged(caplog, ("rg.secret", "xämple", "ex\\xc3"))


def test_a_non_ascii_from_is_refused_cleanly_over_smtp(smtp_listener, caplog):
    caplog.set_level(logging.DEBUG)
    with smtp_listener() as listener:
        step, code, text = smtp_converse(listener.port, "jörg.secret@exämple.example", raw_headers(NON_ASCII_FROM),
                                         utf8=True)
        assert (step, code) == ("RCPT", 550) and "Error" not in text and text.isascii()
        step, code, text = smtp_converse(listener.port, m.ALLOWED, raw_headers(NON_ASCII_FROM))
        assert (step, code) == ("DATA", 550) and "UnicodeEncodeError" not in text and text.isascii()
        assert smtp_converse(listener.port, m.ALLOWED, m.raw(m.message("Is 22511 valid?")))[1] == 250
        assert listener.queue.join(300)
    assert_not_logged(caplog, ("rg.secret", "xämple", "jane.coder", "ex\\xc3"))


def assert_not_logged(caplog, fragments: tuple[str, ...]) -> None:
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info and not record.exc_text:
            text += logging.Formatter().formatException(record.exc_info)
        for fragment in fragments:
            assert fragment not in text, f"{record.name} logged {fragment!r}: {text[:200]}"
