"""The reply: a MIME message (plain text and HTML alternatives) threaded under the question.

Headers: ``Subject: Re: <subject>``, ``In-Reply-To`` (the question's Message-ID), ``References`` (its
References plus its Message-ID), ``From`` the consultant address, ``To`` the sender, and ``Auto-Submitted:
auto-replied`` (RFC 3834) so that other robots do not answer the answer.

Body, per question: the question quoted, the answer with its ``[n]`` markers, the codes it names with their
status in the reference data (valid / deleted / unknown), its numbered sources (title, version, locator, URL),
and a note where the evidence was weak (the service abstained). Then what could not be read, the attachments
that were not read, and the questions left over the per-message limit.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formataddr, formatdate, make_msgid

from api.mail.config import MailConfig
from api.mail.parse import ParsedMail
from rag.answer import Answer, CodeCheck

WEAK_NOTE = ("Note: the evidence for this question was weak, so CasePilot did not answer it rather than guess. "
             "Name the code(s) you mean, or check the official CMS, CDC or AMA source.")
UNKNOWN_CODE_NOTE = ("Note: the evidence for this question was weak: a code it names is not in the reference data, "
                     "so CasePilot says no more about it rather than guess. Check the code, or the official source.")
DESCRIPTION_CHARS = 140
FOOTER = ("CasePilot CaseConsultant: automated answers from CMS and CDC reference data. Every fact is cited; "
          "check the cited source before you bill. Reply to this message to ask more.")


@dataclass
class QuestionResult:
    question: str
    answer: Answer | None = None
    error: str = ""  # why it was not answered (too long, internal error)


def reply_subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        return "Re: your coding question"
    if subject.lower().startswith(("re:", "re :", "aw:", "sv:")):
        return subject[:250]
    return f"Re: {subject}"[:250]


def _date(value: int | None) -> str:
    text = str(value or "")
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else text


def weak_note(answer: Answer) -> str:
    return UNKNOWN_CODE_NOTE if any(c.status == "unknown" for c in answer.codes) else WEAK_NOTE


def _short(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= DESCRIPTION_CHARS else text[:DESCRIPTION_CHARS - 1].rstrip() + "…"


def code_line(check: CodeCheck) -> str:
    label = f"{check.code} ({check.code_set})" if check.code_set else check.code
    if check.status == "valid":
        detail = _short(check.description) or "in the reference data"
    elif check.status == "deleted":
        ended = f" on {_date(check.termination_date)}" if check.termination_date else ""
        detail = f"deleted{ended}" + (f": {_short(check.description)}" if check.description else "")
    else:
        detail = "not found in the reference data"
        if check.suggestions:
            detail += f"; did you mean {', '.join(check.suggestions[:3])}?"
    return f"{label}: {check.status.upper()} - {detail}"


def citation_line(citation) -> str:
    parts = [citation.title, citation.version, citation.locator]
    text = ", ".join(p for p in parts if p)
    return f"[{citation.marker}] {text}." + (f" {citation.url}" if citation.url else "")


def _greeting(parsed: ParsedMail) -> str:
    name = parsed.sender_name.split()[0] if parsed.sender_name else ""
    return f"Hello {name}," if name and name.isalpha() else "Hello,"


def _intro(results: list[QuestionResult]) -> str:
    if not results:
        return "I could not find a question in your message, so there is nothing to answer yet."
    count = "1 question" if len(results) == 1 else f"{len(results)} questions"
    return (f"You asked {count}. Each answer cites its sources by number, and every code named was checked "
            "against the reference data.")


def _extras(parsed: ParsedMail, max_questions: int) -> list[tuple[str, list[str]]]:
    sections = []
    if parsed.problems:
        sections.append(("What I could not read", parsed.problems))
    if parsed.attachments:
        sections.append(("Attachments (not read: CasePilot answers from the message text only)",
                         [a.describe() for a in parsed.attachments]))
    if parsed.skipped_questions:
        sections.append((f"Not answered (only the first {max_questions} questions in a message are answered; "
                         "send the rest in another message)", parsed.skipped_questions))
    return sections


def render_text(parsed: ParsedMail, results: list[QuestionResult], config: MailConfig) -> str:
    lines = [_greeting(parsed), "", _intro(results)]
    if not results and not parsed.problems:
        lines += ["", "Write each question in the body of the message (not in an attachment), one per line "
                      "or paragraph, e.g. \"Can 22511 and 22514 be billed together?\""]
    total = len(results)
    for index, result in enumerate(results, start=1):
        lines += ["", f"=== Question {index} of {total} ===", f"> {result.question}", ""]
        answer = result.answer
        if answer is None:
            lines.append(f"Not answered: {result.error}")
            continue
        lines.append(answer.answer)
        if answer.codes:
            lines += ["", "Codes checked:"] + [f"  {code_line(c)}" for c in answer.codes]
        if answer.citations:
            lines += ["", "Sources:"] + [f"  {citation_line(c)}" for c in answer.citations]
        if answer.abstained:
            lines += ["", weak_note(answer)]
    for title, items in _extras(parsed, config.max_questions):
        lines += ["", f"{title}:"] + [f"  - {item}" for item in items]
    lines += ["", "-- ", FOOTER]
    return "\n".join(lines) + "\n"


def _e(text: str) -> str:
    return html.escape(text or "", quote=True)


def _link(url: str) -> str:
    if url.startswith(("https://", "http://")):
        return f' <a href="{_e(url)}">{_e(url)}</a>'
    return f" {_e(url)}" if url else ""


def render_html(parsed: ParsedMail, results: list[QuestionResult], config: MailConfig) -> str:
    out = ['<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
           '<body style="font-family:sans-serif;line-height:1.4">',
           f"<p>{_e(_greeting(parsed))}</p>", f"<p>{_e(_intro(results))}</p>"]
    total = len(results)
    for index, result in enumerate(results, start=1):
        out.append(f"<h3>Question {index} of {total}</h3>")
        out.append(f'<blockquote style="color:#555;border-left:3px solid #ccc;padding-left:8px">'
                   f"{_e(result.question)}</blockquote>")
        answer = result.answer
        if answer is None:
            out.append(f"<p><em>Not answered: {_e(result.error)}</em></p>")
            continue
        out.append(f"<p>{_e(answer.answer)}</p>")
        if answer.codes:
            out.append("<p><strong>Codes checked</strong></p><ul>")
            out += [f"<li>{_e(code_line(c))}</li>" for c in answer.codes]
            out.append("</ul>")
        if answer.citations:
            out.append("<p><strong>Sources</strong></p><ol>")
            for c in answer.citations:
                text = ", ".join(p for p in (c.title, c.version, c.locator) if p)
                out.append(f'<li value="{c.marker}">[{c.marker}] {_e(text)}.{_link(c.url)}</li>')
            out.append("</ol>")
        if answer.abstained:
            out.append(f'<p style="color:#8a5300"><em>{_e(weak_note(answer))}</em></p>')
    for title, items in _extras(parsed, config.max_questions):
        out.append(f"<p><strong>{_e(title)}</strong></p><ul>")
        out += [f"<li>{_e(item)}</li>" for item in items]
        out.append("</ul>")
    out.append(f'<hr><p style="color:#777;font-size:small">{_e(FOOTER)}</p></body></html>')
    return "\n".join(out)


def build_reply(parsed: ParsedMail, results: list[QuestionResult], config: MailConfig) -> EmailMessage:
    reply = EmailMessage(policy=default_policy)
    reply["From"] = formataddr((config.display_name, config.address))
    reply["To"] = formataddr((parsed.sender_name, parsed.sender))
    reply["Subject"] = reply_subject(parsed.subject)
    reply["Date"] = formatdate(usegmt=True)
    reply["Message-ID"] = make_msgid(domain=config.domain)
    if parsed.message_id:
        reply["In-Reply-To"] = parsed.message_id
        reply["References"] = " ".join([*[r for r in parsed.references if r != parsed.message_id],
                                        parsed.message_id])
    elif parsed.references:
        reply["References"] = " ".join(parsed.references)
    reply["Auto-Submitted"] = "auto-replied"
    reply["X-Auto-Response-Suppress"] = "All"
    reply.set_content(render_text(parsed, results, config))
    reply.add_alternative(render_html(parsed, results, config), subtype="html")
    return reply
