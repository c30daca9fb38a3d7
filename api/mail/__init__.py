"""CaseConsultant: coding questions by email, answered with citations (issue 6).

Intake: ``POST /v1/mail`` (api.routers.mail) and an SMTP listener (api.mail.smtp, off unless enabled).
Parsing: api.mail.parse. Replies: api.mail.compose. Admission, answering, delivery: api.mail.consultant.
Settings: ``settings.mail`` (rag.settings.MailSettings, env CASEPILOT_MAIL__*), read by api.mail.config.MailConfig.
Sender authentication: api.mail.authn. Limits: api.mail.limits. HTML to text: api.mail.html_text.
"""

from api.mail.config import MailConfig
from api.mail.consultant import (
           Handled,
           MailConsultant,
           MailQueue,
           MailRefused,
           outbox_count,
)
from api.mail.parse import ParsedMail, UnreadableMail, parse_message

__all__ = ["Handled", "MailConfig", "MailConsultant", "MailQueue", "MailRefused", "ParsedMail", "UnreadableMail",
           "outbox_count", "parse_message"]
