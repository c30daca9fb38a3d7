"""Test messages for the CaseConsultant: built with the stdlib email package, or as raw bytes where the point
is that they are broken (bad charsets, damaged MIME)."""

from __future__ import annotations

import re

from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid

ALLOWED = "jane.coder@clinic.example"
CONSULTANT = "consultant@casepilot.test"
AUTHSERV_ID = "casepilot.test"  # the consultant's domain: the authserv-id trusted by default
PAIR_QUESTION = "Can 22511 and 22514 be billed together?"
COVERAGE_QUESTION = "When is vertebral augmentation covered?"


def authentication_results(sender: str = ALLOWED, authserv_id: str = AUTHSERV_ID) -> str:
    """What the consultant's MTA writes for a message whose DKIM signature verified for the From: domain."""
    return f"{authserv_id}; dkim=pass header.d={sender.rpartition('@')[2]} header.s=mail; spf=none"


def message(body: str = PAIR_QUESTION, *, sender: str = ALLOWED, subject: str = "Coding question",
            html: str | None = None, html_only: bool = False, references: str | None = None,
            attachments: list[tuple[str, str, bytes]] = (), message_id: str | None = None,
            headers: dict[str, str] | None = None, authenticated: bool = True) -> EmailMessage:
    msg = EmailMessage()
    if authenticated:
        msg["Authentication-Results"] = authentication_results(sender)
    msg["From"] = f"Jane Coder <{sender}>"
    msg["To"] = CONSULTANT
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="clinic.example")
    if references:
        msg["In-Reply-To"] = references.split()[-1]
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    if html_only:
        msg.set_content(html or f"<p>{body}</p>", subtype="html")
    else:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def raw(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=SMTP_POLICY)


def raw_text(body: bytes, *, charset: str | None, sender: str = ALLOWED, subject: str = "Coding question",
             message_id: str = "<raw-1@clinic.example>", extra: bytes = b"") -> bytes:
    """A single-part text message with the body bytes exactly as given (8bit)."""
    content_type = b"text/plain" + (b"; charset=" + charset.encode() if charset else b"")
    return (b"Authentication-Results: " + authentication_results(sender).encode() + b"\r\n"
            b"From: Jane Coder <" + sender.encode() + b">\r\nTo: " + CONSULTANT.encode() + b"\r\n"
            b"Subject: " + subject.encode() + b"\r\nMessage-ID: " + message_id.encode() + b"\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: " + content_type + b"\r\nContent-Transfer-Encoding: 8bit\r\n"
            + extra + b"\r\n" + body.replace(b"\n", b"\r\n"))


WINDOWS_1252 = raw_text("Can 22511 and 22514 be billed together for the patient\u2019s L2 fracture \u2013 "
                        "both on the same day?\n".encode("windows-1252"), charset="windows-1252",
                        message_id="<cp1252@clinic.example>")
LATIN_1 = raw_text("Can 22511 and 22514 be billed together (Patient: Zoë Müller)?\n".encode("iso-8859-1"),
                   charset="iso-8859-1", message_id="<latin1@clinic.example>")
UNKNOWN_CHARSET = raw_text("Can 22511 and 22514 be billed together \u2013 quickly?\n".encode("windows-1252"),
                           charset="x-no-such-charset", message_id="<unknown-charset@clinic.example>")
EMPTY_BODY = raw_text(b"", charset="utf-8", message_id="<empty@clinic.example>")
DAMAGED_MIME = (b"Authentication-Results: " + authentication_results().encode() + b"\r\n"
                b"From: Jane Coder <" + ALLOWED.encode() + b">\r\nTo: " + CONSULTANT.encode() + b"\r\n"
                b"Subject: broken\r\nMessage-ID: <damaged@clinic.example>\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: multipart/alternative; boundary=\"XYZ\"\r\n\r\n"
                b"--NOT-THE-BOUNDARY\r\nContent-Type: text/plain\r\n\r\n" + PAIR_QUESTION.encode() + b"\r\n")
NOT_MAIL = bytes(range(256)) * 4

QUOTED_REPLY_BODY = f"""{PAIR_QUESTION}

Thanks,
Jane

On Mon, 3 Mar 2025 at 09:12, CasePilot <{CONSULTANT}> wrote:
> Is J9999 a valid HCPCS code for the same visit?
> Is modifier 25 needed on 99213?
-- 
Jane Coder, CPC | Clinic Example | 555-0100
"""


def status(reply_text: str, code: str) -> str | None:
    """The status a reply's "Codes checked" list gives a code: VALID, DELETED, UNKNOWN (None if not listed)."""
    found = re.search(rf"^\s*{re.escape(code)}(?: \([^)]*\))?: ([A-Z]+) - ", reply_text, re.MULTILINE)
    return found.group(1) if found else None
