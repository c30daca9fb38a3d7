"""Reading one incoming message: sender, threading headers, the text the sender wrote, and the questions in it.

Real-world mail is parsed with the stdlib ``email`` package (``policy=email.policy.default``), leniently:

- the body is the text/plain alternative when there is one, else the HTML one turned into text (api.mail.html_text,
  linear time; at most ``max_html_bytes`` of it, and ``max_text_chars`` of text, are read);
- quoted replies are removed: lines starting with ``>``, "On ... wrote:" attributions, HTML ``<blockquote>``
  and the Gmail/Outlook/Thunderbird quote containers, Outlook's "From: ... Sent: ..." headers and
  "-----Original Message-----" and everything below them;
- signatures are removed: the ``-- `` delimiter, "Sent from my ...", and common sign-offs near the end;
- the rest is split into questions on question marks, numbered or bulleted lines and blank-line paragraphs;
- attachments are listed, never read;
- whatever could not be read (damaged MIME, an unknown or wrong character set, bad base64) is said in plain
  words in ``problems``, so the reply can tell the sender.

Only a message with no usable From address is refused outright (:class:`UnreadableMail`): there is no one to
answer.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email import errors as email_errors
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from api.mail.html_text import html_to_text

STRUCTURE_DEFECTS = (
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.FirstHeaderLineIsContinuationDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
)
ENCODING_DEFECTS = (
    email_errors.InvalidBase64PaddingDefect,
    email_errors.InvalidBase64CharactersDefect,
    email_errors.InvalidBase64LengthDefect,
)


class UnreadableMail(ValueError):
    """A message that cannot be answered at all (no sender to reply to)."""


@dataclass
class Attachment:
    filename: str
    content_type: str
    size: int

    def describe(self) -> str:
        return f"{self.filename} ({self.content_type}, {human_size(self.size)})"


@dataclass
class ParsedMail:
    sender: str                     # addr-spec of From:, as written
    sender_name: str
    subject: str
    message_id: str | None
    references: list[str]
    text: str                       # what the sender wrote, quotes and signature removed
    questions: list[str]
    skipped_questions: list[str]    # over the per-message limit
    attachments: list[Attachment]
    problems: list[str]             # what could not be read, in words for the sender
    automatic: str = ""             # why this looks machine-generated ("" if it does not)
    size: int = 0
    envelope_sender: str | None = None
    notes: list[str] = field(default_factory=list)


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _printable(text: str, limit: int = 80) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- headers

def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _header(message: Message, name: str) -> str:
    """A header's decoded text, falling back to the raw text when the header parser gives up."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:  # malformed headers can make the lazy header parser raise
        return _raw_header(message, name) or ""


def readable(text: str) -> str:
    """Text with raw 8-bit bytes (kept by the parser as surrogate escapes) decoded as UTF-8 where they are valid,
    else replaced: such text can be encoded, logged and put in JSON (a surrogate made the refusal a 500)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


MAX_ADDRESS_HEADER = 2000  # a From: longer than this is not a mail client's; parsing it is not worth the time


def _address(message: Message, name: str) -> tuple[str, str]:
    raw = _raw_header(message, name)
    if raw is not None and len(raw) > MAX_ADDRESS_HEADER:
        return "", ""
    try:
        header = message.get(name)
        addresses = getattr(header, "addresses", None) if header is not None else None
        if addresses:
            first = addresses[0]
            if first.addr_spec and "@" in first.addr_spec:
                return readable(first.display_name or ""), readable(first.addr_spec)
    except Exception:
        pass
    if raw:
        for display, addr in getaddresses([raw.replace("\r", " ").replace("\n", " ")]):
            if "@" in addr:
                return readable(display), readable(addr)
    return "", ""


MSGID = re.compile(r"<[^<>\s]{1,250}>")


def _message_ids(value: str) -> list[str]:
    return MSGID.findall(value or "")


# ---------------------------------------------------------------- the header block alone

HEAD_END = re.compile(rb"\r?\n\r?\n")
NOT_ANSWERING = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply")


@dataclass
class MailHead:
    """What the header block says, read before any of the body is parsed."""
    sender: str
    sender_name: str
    automatic: str
    authentication_results: list[str]


def header_block(raw: bytes, max_header_bytes: int) -> bytes:
    """The header block of a message (up to its first empty line); UnreadableMail if it is over the limit."""
    end = HEAD_END.search(raw, 0, max_header_bytes + 4)
    if end is not None:
        return raw[:end.start()] + b"\r\n\r\n"
    if len(raw) <= max_header_bytes:
        return raw + b"\r\n\r\n"
    raise UnreadableMail(f"its header block is over {human_size(max_header_bytes)}")


def automatic_reason(message: Message, sender: str) -> str:
    """Why this message looks machine-generated ("" if it does not)."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    precedence = _header(message, "Precedence").strip().lower()
    local = sender.lower().partition("@")[0]
    if auto_submitted and auto_submitted != "no":
        return f"it is marked Auto-Submitted: {_printable(auto_submitted, 30)}"
    if precedence in ("bulk", "junk", "list"):
        return f"it is marked Precedence: {precedence}"
    if local in NOT_ANSWERING:
        return f"it comes from {local}@, an address that does not read replies"
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return "it is an automatic reply"
    return ""


def _sender_of(message: Message) -> tuple[str, str]:
    display, sender = _address(message, "From")
    if not sender:
        display, sender = _address(message, "Sender")
    if not sender:
        raise UnreadableMail("the message has no From address to reply to")
    return display, sender


def read_head(raw: bytes, max_header_bytes: int = 64 * 1024) -> MailHead:
    """Sender, automatic markers and Authentication-Results from the header block only (linear in its size)."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(header_block(raw, max_header_bytes),
                                                                headersonly=True)
    except UnreadableMail:
        raise
    except Exception as error:
        raise UnreadableMail(f"the message could not be parsed as Internet mail ({type(error).__name__})") from None
    display, sender = _sender_of(message)
    results = [readable(str(v)) for k, v in message.raw_items() if k.lower() == "authentication-results"]
    return MailHead(sender=sender, sender_name=_printable(display, 80), automatic=automatic_reason(message, sender),
                    authentication_results=results[:20])


# ---------------------------------------------------------------- text of a part

def _guess_decode(payload: bytes) -> tuple[str, str]:
    for name in ("utf-8", "windows-1252"):
        try:
            return payload.decode(name), name.upper() if name == "utf-8" else "Windows-1252"
        except UnicodeDecodeError:
            continue
    return payload.decode("latin-1"), "ISO-8859-1"


def decode_text_part(part: Message, problems: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    if any(isinstance(d, ENCODING_DEFECTS) for d in part.defects):
        problems.append("part of the text was not valid base64, so some of it may be missing")
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    label = declared or "us-ascii"
    try:
        codecs.lookup(label)
    except LookupError:
        text, used = _guess_decode(payload)
        problems.append(f"the text was marked with the unknown character set {_printable(declared, 40)!r}; "
                        f"I read it as {used}, so some characters may be wrong")
        return text
    try:
        return payload.decode(label)
    except UnicodeDecodeError:
        text, used = _guess_decode(payload)
        if not (declared in (None, "us-ascii") and used == "UTF-8"):  # undeclared UTF-8 is common and harmless
            problems.append(f"the text was not valid {_printable(label, 40)}; I read it as {used}, "
                            "so some characters may be wrong")
        return text


# ---------------------------------------------------------------- quotes and signatures

ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,300}\bwrote|am\b.{0,300}\bschrieb|le\b.{0,300}\ba écrit|el\b.{0,300}\bescribió)\s*:\s*$",
    re.IGNORECASE)
ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$",
                      re.IGNORECASE)
OUTLOOK_FROM = re.compile(r"^\s*\*?(from|von|de)\s*:\*?\s+\S", re.IGNORECASE)
OUTLOOK_NEXT = re.compile(r"^\s*\*?(sent|date|gesendet|envoyé|to|subject)\s*:", re.IGNORECASE)
UNDERSCORES = re.compile(r"^\s*_{20,}\s*$")
SENT_FROM = re.compile(r"^\s*(sent from my\b|sent from (outlook|mail) for\b|get outlook for\b)", re.IGNORECASE)
SIGN_OFF = re.compile(
    r"^\s*(thanks|thank you|thanks in advance|thank you in advance|many thanks|thanks again|thx|ty|regards|"
    r"best regards|kind regards|warm regards|warmest regards|best wishes|best|cheers|sincerely|"
    r"yours sincerely|yours truly|respectfully|all the best|take care|br)\s*[,.!]*\s*(\w+\s*){0,3}$",
    re.IGNORECASE)
GREETING = re.compile(r"^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|hiya)\b[^?]{0,40}$",
                      re.IGNORECASE)
SIGNATURE_TAIL_LINES = 6


def strip_quotes(text: str) -> str:
    lines = text.split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        following = [other for other in lines[index + 1:index + 6] if other.strip()]
        if line.lstrip().startswith(">"):
            index += 1
            continue
        joined = line + " " + lines[index + 1] if index + 1 < len(lines) else line
        attribution = ATTRIBUTION.match(line) or (line.strip().lower().startswith("on ") and ATTRIBUTION.match(joined))
        if attribution:
            width = 1 if ATTRIBUTION.match(line) else 2
            after = [other for other in lines[index + width:index + width + 3] if other.strip()]
            if after and not after[0].lstrip().startswith(">"):
                break  # an unmarked quote follows: everything below is the old message
            index += width
            continue
        if ORIGINAL.match(line):
            break
        if UNDERSCORES.match(line) and following and OUTLOOK_FROM.match(following[0]):
            break
        if OUTLOOK_FROM.match(line) and any(OUTLOOK_NEXT.match(other) for other in following[:4]):
            break
        kept.append(line)
        index += 1
    return "\n".join(kept)


def strip_signature(text: str) -> str:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.rstrip("\r") in ("-- ", "--") or SENT_FROM.match(line):
            lines = lines[:index]
            break
    content_seen = False
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if content_seen and SIGN_OFF.match(line):
            rest = [other for other in lines[index + 1:] if other.strip()]
            if len(rest) <= SIGNATURE_TAIL_LINES and not any("?" in other for other in rest):
                lines = lines[:index]
                break
        content_seen = True
    return "\n".join(lines)


def strip_greeting(text: str) -> str:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if GREETING.match(line) and len(line.split()) <= 6 and not line.rstrip().endswith("?"):
            return "\n".join(lines[index + 1:])
        break
    return text


def clean_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = strip_quotes(text)
    text = strip_signature(text)
    text = strip_greeting(text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ---------------------------------------------------------------- questions

ITEM = re.compile(r"^\s*(?:(?:q(?:uestion)?\s*#?\s*)?\d{1,2}\s*[.):]\s+|\(\d{1,2}\)\s*|q(?:uestion)?\s*\d{0,2}\s*[:.]\s*|"
                  r"[-*•·]\s+)", re.IGNORECASE)
COURTESY = re.compile(r"^\s*(thanks|thank you|many thanks|much appreciated|appreciate|please advise|"
                      r"please let me know|let me know|any help|i have (a|one|two|three|four|five|a few|some|several|"
                      r"\d+) (more )?questions?|a few questions|quick questions?|questions?\b)", re.IGNORECASE)
COURTESY_QUESTION = re.compile(r"^\s*((can|could|would|will) you (please )?(help|advise|assist)( me)?( with this| out| here)?"
                               r"|any (thoughts|ideas|suggestions|help)|does (that|this) make sense|thanks)\s*[?!.]*\s*$",
                               re.IGNORECASE)
QUESTION_SPLIT = re.compile(r"(?<=\?)\s+")


def _substantive(piece: str) -> bool:
    words = piece.split()
    if len(words) < 3 and not re.search(r"\d", piece):
        return False
    if piece.rstrip().endswith(":"):
        return False  # a lead-in ("I have two questions:")
    return not COURTESY.match(piece)


MAX_LISTED_OVER = 20  # questions over the per-message limit listed in the reply as not answered


def split_questions(text: str, limit: int | None = None) -> list[str]:
    """The questions in ``text``, in order, each once; at most ``limit`` (the rest are not looked for)."""
    questions: list[str] = []
    seen: set[str] = set()
    for paragraph in re.split(r"\n\s*\n", text):
        groups: list[list[str]] = []  # lines of each item, joined once: += on a string is quadratic
        for line in (other.strip() for other in paragraph.split("\n")):
            if not line:
                continue
            match = ITEM.match(line)
            if match:
                groups.append([line[match.end():].strip()])
            elif groups:
                groups[-1].append(line)
            else:
                groups.append([line])
        for group in groups:
            for piece in QUESTION_SPLIT.split(" ".join(group)):
                piece = " ".join(piece.split())
                if not piece:
                    continue
                if COURTESY_QUESTION.match(piece) or not piece.strip("?").strip():
                    continue
                if (piece.endswith("?") or _substantive(piece)) and piece not in seen:
                    seen.add(piece)
                    questions.append(piece)
                    if limit is not None and len(questions) >= limit:
                        return questions
    return questions


# ---------------------------------------------------------------- the message

MIME_SCAFFOLD = re.compile(r"^(--\S+\s*$|content-[\w-]+\s*:|mime-version\s*:|\s+boundary=)", re.IGNORECASE)


def _leaf_parts(message: Message):
    """Every leaf part, without descending into attached messages (they are attachments themselves)."""
    if message.get_content_maintype() == "multipart" and message.is_multipart():
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from _leaf_parts(part)
    else:
        yield message


def _attachment_of(part: Message) -> Attachment:
    try:
        filename = part.get_filename()
    except Exception:
        filename = None
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        subject = _header(inner, "Subject") if isinstance(inner, Message) else ""
        filename = filename or (f"attached message {_printable(subject, 60)!r}" if subject else "attached message")
        size = len(inner.as_bytes()) if isinstance(inner, Message) else 0
    else:
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        size = len(payload or b"")
    return Attachment(_printable(filename or "unnamed", 80), _printable(content_type, 60), size)


def _body_part(message: Message) -> Message | None:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None and not message.is_multipart() and message.get_content_maintype() in ("text", "multipart"):
        part = message  # a damaged multipart read as one text part
    return part


def _capped(content: str, limit: int, what: str, problems: list[str]) -> str:
    if len(content) <= limit:
        return content
    problems.append(f"the {what} was longer than {human_size(limit)}; I read only its first {human_size(limit)}")
    return content[:limit]


def parse_message(raw: bytes, max_questions: int = 10, *, max_html_bytes: int = 128 * 1024,
                  max_text_chars: int = 64 * 1024) -> ParsedMail:
    try:
        message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:  # the parser is lenient; this is a last resort
        raise UnreadableMail(f"the message could not be parsed as Internet mail ({type(error).__name__})") from None

    display, sender = _sender_of(message)
    problems: list[str] = []
    defects = list(message.defects)
    for part in message.walk() if message.is_multipart() else ():
        defects += getattr(part, "defects", [])
    if any(isinstance(d, STRUCTURE_DEFECTS) for d in defects):
        problems.append("the message's MIME structure is damaged; I read the text I could find")

    body = _body_part(message)
    text = ""
    if body is None:
        problems.append("the message has no text or HTML part, so there was nothing to read")
    else:
        content = decode_text_part(body, problems)
        subtype = body.get_content_subtype()
        if subtype == "html" or (subtype != "plain" and re.search(r"<(html|body|div|p|br)\b", content[:2000], re.IGNORECASE)):
            content = html_to_text(_capped(content, max_html_bytes, "HTML of the message", problems))
        elif body.get_content_maintype() == "multipart":  # damaged: drop the MIME scaffolding left in the text
            content = _capped(content, max_html_bytes, "damaged message", problems)
            content = "\n".join(line for line in content.replace("\r\n", "\n").split("\n")
                                if not MIME_SCAFFOLD.match(line))
            content = html_to_text(content) if re.search(r"<(html|body|div|p|br)\b", content, re.IGNORECASE) else content
        text = clean_body(_capped(content, max_text_chars, "text of the message", problems))

    attachments = []
    for part in _leaf_parts(message):
        if part is body:
            continue
        is_alternative_text = (part.get_content_type() in ("text/plain", "text/html")
                               and not part.is_attachment() and not part.get_filename())
        if is_alternative_text:
            continue
        attachments.append(_attachment_of(part))

    questions = split_questions(text, max_questions + MAX_LISTED_OVER) if text else []
    skipped = questions[max_questions:]
    questions = questions[:max_questions]

    automatic = automatic_reason(message, sender)

    message_id = (_message_ids(_header(message, "Message-ID")) or [None])[0]
    references = _message_ids(_header(message, "References"))
    if not references:
        references = _message_ids(_header(message, "In-Reply-To"))[:1]
    return ParsedMail(
        sender=sender, sender_name=_printable(display, 80), subject=_printable(_header(message, "Subject"), 200),
        message_id=message_id, references=references[-20:], text=text, questions=questions,
        skipped_questions=skipped, attachments=attachments, problems=problems, automatic=automatic,
        size=len(raw))


def envelope_address(value: str | None) -> str:
    return parseaddr(value or "")[1]
