"""The SMTP intake end to end: a real smtplib client talks to the aiosmtpd listener on 127.0.0.1, the session's
query service answers over the full data (real NCCI tables), and the reply is read back from the Maildir."""

from __future__ import annotations

import logging
import mailbox
import smtplib
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

import mail_messages as m
from mail_messages import status

pytestmark = [pytest.mark.store, pytest.mark.shared_data]

ANSWER_TIMEOUT_S = 300


def converse(listener, raw: bytes, sender: str = m.ALLOWED, rcpt: str = m.CONSULTANT,
             size: bool = False) -> tuple[str, int, str]:
    """One SMTP transaction, step by step: (the step it ended at, the reply code, the reply text)."""
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=120) as client:
        client.ehlo("tests.clinic.example")
        options = [f"SIZE={len(raw)}"] if size else []
        code, text = client.mail(sender, options)
        if code != 250:
            return "MAIL", code, text.decode()
        code, text = client.rcpt(rcpt)
        if code != 250:
            return "RCPT", code, text.decode()
        code, text = client.data(raw)
        return "DATA", code, text.decode()


def replies(listener, expected: int | None = None) -> list:
    assert listener.queue.join(ANSWER_TIMEOUT_S), "the queued messages were not answered in time"
    path = listener.consultant.config.outbox
    box = mailbox.Maildir(path, factory=None, create=False) if path.exists() else {}
    found = [message_from_bytes(box.get_bytes(key), policy=default_policy) for key in box.keys()]
    if expected is not None:
        assert len(found) == expected
    return sorted(found, key=lambda r: str(r["Date"]))


def text_of(reply) -> str:
    return reply.get_body(("plain",)).get_content()


def reply_to(found: list, message_id: str):
    matches = [r for r in found if r["In-Reply-To"] == message_id]
    assert len(matches) == 1, f"{len(matches)} replies to {message_id}"
    return matches[0]


def test_question_by_smtp_is_answered_with_citations_in_a_threaded_reply(smtp_listener):
    msg = m.message(m.PAIR_QUESTION, subject="Kyphoplasty pair", references="<earlier@clinic.example>",
                    message_id="<pair-1@clinic.example>")
    with smtp_listener() as listener:
        step, code, text = converse(listener, m.raw(msg))
        assert (step, code) == ("DATA", 250), text
        assert "accepted (1 question)" in text and m.ALLOWED in text
        (reply,) = replies(listener, expected=1)
    assert reply["Subject"] == "Re: Kyphoplasty pair"
    assert reply["In-Reply-To"] == "<pair-1@clinic.example>"
    assert reply["References"] == "<earlier@clinic.example> <pair-1@clinic.example>"
    assert reply["To"].addresses[0].addr_spec == m.ALLOWED
    assert reply["From"].addresses[0].addr_spec == m.CONSULTANT
    assert reply.get_content_type() == "multipart/alternative"
    text, html = text_of(reply), reply.get_body(("html",)).get_content()
    assert f"> {m.PAIR_QUESTION}" in text
    body = text.split("Codes checked:")[0]
    assert "22511" in body and "22514" in body and "[1]" in body
    assert status(text, "22511") == "VALID" and status(text, "22514") == "VALID"
    sources = text.split("Sources:")[1].split("\n\n")[0]
    assert "[1] " in sources and "row " in sources and "https://www.cms.gov" in sources
    assert "evidence for this question was weak" not in text
    assert "<blockquote" in html and "https://www.cms.gov" in html
    assert not list(listener.queue.inbox.iterkeys()), "answered messages leave the inbox"


def test_several_questions_are_answered_one_by_one(smtp_listener):
    body = (f"Hi,\n\nTwo questions:\n1. {m.PAIR_QUESTION}\n2. Is 99999 a valid code?\n\n"
            "What is the weather on Mars tomorrow?\n\nBest regards,\nJane")
    with smtp_listener() as listener:
        assert converse(listener, m.raw(m.message(body, message_id="<multi@clinic.example>")))[1] == 250
        (reply,) = replies(listener, expected=1)
    text = text_of(reply)
    assert "You asked 3 questions" in text
    assert "Question 1 of 3" in text and "Question 3 of 3" in text
    assert f"> {m.PAIR_QUESTION}" in text and "> Is 99999 a valid code?" in text
    assert status(text, "99999") == "UNKNOWN"
    third = text.split("Question 3 of 3")[1]
    assert "evidence for this question was weak" in third  # abstained: a note, no guess
    assert "Sources:" not in third


def test_unknown_sender_is_refused_at_rcpt_with_a_reason(smtp_listener):
    with smtp_listener() as listener:
        step, code, text = converse(listener, m.raw(m.message(sender="someone@elsewhere.example")),
                                    sender="someone@elsewhere.example")
        assert (step, code) == ("RCPT", 550)
        assert "5.7.1" in text and "not on CasePilot's allow-list" in text
        # an allowed envelope with a From: header that is not allowed is refused at DATA
        step, code, text = converse(listener, m.raw(m.message(sender="spoof@elsewhere.example")))
        assert (step, code) == ("DATA", 550) and "allow-list" in text
        # bounces (empty sender) are never answered
        step, code, text = converse(listener, m.raw(m.message()), sender="")
        assert (step, code) == ("MAIL", 550) and "bounces" in text
        assert replies(listener) == []


def test_oversize_message_is_refused_with_552_and_the_listener_keeps_answering(smtp_listener):
    big = m.raw(m.message("Is 22511 valid?", attachments=[("scan.bin", "application/octet-stream",
                                                            b"\0" * (20 * 1024 * 1024))]))
    assert len(big) > 20 * 1024 * 1024
    with smtp_listener(max_bytes=10 * 1024 * 1024) as listener:
        step, code, text = converse(listener, big, size=True)  # declared with SIZE=: refused at MAIL FROM
        assert (step, code) == ("MAIL", 552) and "5.3.4" in text and "10.0 MB limit" in text
        step, code, text = converse(listener, big)  # not declared: read, then refused at DATA
        assert (step, code) == ("DATA", 552) and "10.0 MB limit" in text and "not read" in text
        with smtplib.SMTP("127.0.0.1", listener.port, timeout=120) as client:  # what smtplib users see
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail(m.ALLOWED, [m.CONSULTANT], big)
            assert refused.value.smtp_code == 552
        assert converse(listener, m.raw(m.message(message_id="<after-big@clinic.example>")))[1] == 250
        reply_to(replies(listener, expected=1), "<after-big@clinic.example>")


def test_windows_1252_body_is_answered(smtp_listener):
    with smtp_listener() as listener:
        assert converse(listener, m.WINDOWS_1252)[1] == 250
        reply = reply_to(replies(listener, expected=1), "<cp1252@clinic.example>")
    text = text_of(reply)
    assert "patient\u2019s L2 fracture \u2013 both" in text  # decoded, not mojibake
    assert status(text, "22511") == "VALID" and "Sources:" in text
    assert "What I could not read" not in text


def test_html_only_message_is_answered(smtp_listener):
    html = (f"<html><body><p>Hello,</p><p>{m.PAIR_QUESTION}</p>"
            "<p>Thanks,<br>Jane</p></body></html>")
    with smtp_listener() as listener:
        msg = m.message(html=html, html_only=True, message_id="<html-only@clinic.example>")
        assert converse(listener, m.raw(msg))[1] == 250
        reply = reply_to(replies(listener, expected=1), "<html-only@clinic.example>")
    text = text_of(reply)
    assert "You asked 1 question." in text and f"> {m.PAIR_QUESTION}" in text and "Sources:" in text


def test_quoted_reply_is_stripped_and_the_quoted_question_not_answered(smtp_listener):
    msg = m.message(m.QUOTED_REPLY_BODY, subject="Re: Coding question",
                    references="<a1@casepilot.test>", message_id="<followup@clinic.example>")
    with smtp_listener() as listener:
        assert converse(listener, m.raw(msg))[1] == 250
        reply = reply_to(replies(listener, expected=1), "<followup@clinic.example>")
    assert reply["Subject"] == "Re: Coding question"  # not "Re: Re:"
    assert reply["References"] == "<a1@casepilot.test> <followup@clinic.example>"
    text = text_of(reply)
    assert "You asked 1 question." in text
    assert "J9999" not in text and "modifier 25" not in text and "CPC" not in text


def test_bad_input_gets_a_reason_and_the_listener_keeps_running(smtp_listener):
    with smtp_listener() as listener:
        step, code, text = converse(listener, m.NOT_MAIL)
        assert (step, code) == ("DATA", 550) and "5.6.0" in text and "no From address" in text
        for raw in (m.DAMAGED_MIME, m.UNKNOWN_CHARSET, m.LATIN_1, m.EMPTY_BODY):
            assert converse(listener, raw)[1] == 250
        assert converse(listener, m.raw(m.message(message_id="<last@clinic.example>")))[1] == 250
        found = replies(listener, expected=5)
    damaged = text_of(reply_to(found, "<damaged@clinic.example>"))
    assert "What I could not read" in damaged and "MIME structure is damaged" in damaged
    unknown = text_of(reply_to(found, "<unknown-charset@clinic.example>"))
    assert "unknown character set 'x-no-such-charset'" in unknown and status(unknown, "22511") == "VALID"
    assert "Zoë Müller" in text_of(reply_to(found, "<latin1@clinic.example>"))
    assert "could not find a question" in text_of(reply_to(found, "<empty@clinic.example>"))
    assert "Sources:" in text_of(reply_to(found, "<last@clinic.example>"))


def test_automatic_messages_are_refused(smtp_listener):
    with smtp_listener() as listener:
        msg = m.message(headers={"Auto-Submitted": "auto-replied"})
        step, code, text = converse(listener, m.raw(msg))
        assert (step, code) == ("DATA", 550) and "automatic messages are not answered" in text


def test_sender_quota_is_the_api_quota(smtp_listener):
    with smtp_listener(registered_quota_per_day=2) as listener:
        assert converse(listener, m.raw(m.message("Is 22511 valid?")))[1] == 250
        assert converse(listener, m.raw(m.message("Is 22514 valid?")))[1] == 250
        step, code, text = converse(listener, m.raw(m.message("Is 22513 valid?")))
        assert (step, code) == ("DATA", 550) and "quota of 2 messages per day is used up" in text
        other = "john@clinic.example"  # counted per sender
        assert converse(listener, m.raw(m.message("Is 22513 valid?", sender=other)), sender=other)[1] == 250
        replies(listener, expected=3)


def test_attachments_are_listed_as_not_read(smtp_listener):
    msg = m.message(m.PAIR_QUESTION, message_id="<attach@clinic.example>",
                    attachments=[("op-note.pdf", "application/pdf", b"%PDF-1.4 Is 99999 valid? " * 100)])
    with smtp_listener() as listener:
        assert converse(listener, m.raw(msg))[1] == 250
        text = text_of(reply_to(replies(listener, expected=1), "<attach@clinic.example>"))
    assert "Attachments (not read" in text and "op-note.pdf (application/pdf, 2 KB)" in text
    assert "99999" not in text


def test_messages_left_in_the_inbox_are_answered_at_start(mail_config, query_service):
    """An accepted message is in the Maildir inbox before the 250: a restart answers it."""
    from api.mail.consultant import MailConsultant
    from api.mail.smtp import MailListener

    from loopback import free_port

    config = mail_config()
    mailbox.Maildir(config.inbox, create=True).add(m.raw(m.message(message_id="<left@clinic.example>")))
    with MailListener(MailConsultant(config, query_service), host="127.0.0.1", port=free_port()) as listener:
        reply_to(replies(listener, expected=1), "<left@clinic.example>")
        assert not list(listener.queue.inbox.iterkeys())


def test_logs_hold_no_body_subject_or_address(smtp_listener, caplog):
    secret = "Patient Zebediah Quux, DOB 1950-01-01: can 22511 and 22514 be billed together?"
    with caplog.at_level(logging.DEBUG):
        with smtp_listener() as listener:
            assert converse(listener, m.raw(m.message(secret, subject="Quux case")))[1] == 250
            replies(listener, expected=1)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "mail admitted" in logged and "mail answered" in logged and "bytes=" in logged
    assert "Quux" not in logged and "Zebediah" not in logged and m.ALLOWED not in logged


class Sink:
    """A relay for the delivery tests: an aiosmtpd server that keeps what it receives."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def test_replies_go_to_the_relay_when_one_is_configured(smtp_listener):
    from aiosmtpd.controller import Controller

    from loopback import free_port

    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    try:
        with smtp_listener(relay_host="127.0.0.1", relay_port=relay.port) as listener:
            msg = m.message(message_id="<relayed@clinic.example>")
            assert converse(listener, m.raw(msg))[1] == 250
            assert replies(listener) == []  # delivered, so nothing in the outbox
    finally:
        relay.stop()
    ((mail_from, rcpt_tos, data),) = sink.received
    assert mail_from == m.CONSULTANT and rcpt_tos == [m.ALLOWED]
    reply = message_from_bytes(data, policy=default_policy)
    assert reply["In-Reply-To"] == "<relayed@clinic.example>" and "Sources:" in text_of(reply)


def test_a_failing_relay_leaves_the_reply_in_the_outbox(smtp_listener):
    from loopback import free_port

    with smtp_listener(relay_host="127.0.0.1", relay_port=free_port(), relay_timeout_s=5) as listener:
        assert converse(listener, m.raw(m.message(message_id="<no-relay@clinic.example>")))[1] == 250
        reply = reply_to(replies(listener, expected=1), "<no-relay@clinic.example>")
    assert reply["X-CasePilot-Undelivered"] == "relay failed: ConnectionRefusedError"
