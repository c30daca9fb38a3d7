"""Is the From: address the sender's own? (issue 15, finding 5)

The From: header is written by whoever sends the message. It is believed when either
- an ``Authentication-Results`` header (RFC 8601) added by a trusted MTA (its authserv-id is listed in
  ``mail.authserv_ids``, default the consultant address's domain) says ``dkim=pass`` for a signing domain
  (``header.d``), ``spf=pass`` for an envelope domain (``smtp.mailfrom``) or ``dmarc=pass`` for a
  ``header.from`` that is the From: domain or a parent or child of it (relaxed alignment); or
- the SMTP envelope sender (MAIL FROM) is the From: address itself.
Your border MTA must remove Authentication-Results headers carrying its authserv-id from incoming mail (RFC
8601, section 5), as Postfix, OpenDKIM and rspamd do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMMENT = re.compile(r"\([^()]*\)")
METHODS = {"dkim": "header.d", "spf": "smtp.mailfrom", "dmarc": "header.from"}


@dataclass(frozen=True)
class Verdict:
    authenticated: bool
    how: str  # "dkim", "spf", "dmarc", "envelope" or why not


def _domain(value: str) -> str:
    return value.strip().strip("<>").rpartition("@")[2].strip().rstrip(".").lower()


def aligned(a: str, b: str) -> bool:
    return bool(a) and bool(b) and (a == b or a.endswith("." + b) or b.endswith("." + a))


def passes(header: str, from_domain: str, trusted_ids: tuple[str, ...]) -> str:
    """The method by which one Authentication-Results header authenticates ``from_domain`` ("" if none)."""
    text = header.replace("\r", " ").replace("\n", " ")
    for _ in range(3):  # comments may nest a little; three passes are plenty for real headers
        text = COMMENT.sub(" ", text)
    authserv, _, rest = text.partition(";")
    authserv_id = (authserv.split() or [""])[0].lower()
    if authserv_id not in trusted_ids:
        return ""
    for resinfo in rest.split(";")[:20]:
        tokens = resinfo.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].partition("=")
        method = method.strip().lower()
        if method not in METHODS or result.strip().lower() != "pass":
            continue
        for token in tokens[1:]:
            name, _, value = token.partition("=")
            if name.lower() == METHODS[method] and aligned(_domain(value), from_domain):
                return method
    return ""


def verify_sender(sender: str, envelope_sender: str | None, authentication_results: list[str],
                  trusted_ids: tuple[str, ...]) -> Verdict:
    from_domain = _domain(sender)
    for header in authentication_results:
        method = passes(header, from_domain, trusted_ids)
        if method:
            return Verdict(True, method)
    if envelope_sender and envelope_sender.strip().lower() == sender.strip().lower():
        return Verdict(True, "envelope")
    if envelope_sender:
        return Verdict(False, "the envelope sender differs from the From: address and no trusted "
                              "Authentication-Results header authenticates its domain")
    return Verdict(False, "no trusted Authentication-Results header authenticates the From: domain")
