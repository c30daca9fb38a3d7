"""The SMTP intake: an aiosmtpd listener on loopback (``mail_smtp_host``:``mail_smtp_port``), off unless enabled.

Conversation:
  MAIL FROM 550 5.7.1 <reason> for an empty sender (a bounce);
  RCPT TO   550 5.7.1 <reason> when the envelope sender is not on the allow-list;
  DATA      552 5.3.4 <reason> over ``mail_max_bytes`` (also at MAIL FROM when the client sends SIZE=);
            550 5.7.1 / 5.6.0 <reason> when the From: header is not allowed, the message is automatic or has
            no sender, or the sender's daily quota is used up;
            250 2.0.0 once the message is safely in the Maildir inbox; a worker answers it (see MailQueue).
Any failure inside a handler is a 451 (try again later); the listener keeps serving.

Limits per peer address: ``mail.smtp_connections_per_client`` open connections (421 beyond),
``mail.smtp_max_transactions`` messages per connection (452 beyond), ``mail.client_per_minute`` messages a
minute (450 beyond). Replies are ASCII: nothing the client sent is echoed in a refusal.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from api.mail.consultant import MailConsultant, MailQueue, MailRefused, refuse_size
from api.mail.limits import ConnectionCounts
from api.mail.parse import envelope_address

log = logging.getLogger("casepilot.mail")
LINE_LIMIT = 64 * 1024  # RFC 5321 says 1000; real mail (HTML on one line) often breaks it


def peer_address(session) -> str:
    peer = getattr(session, "peer", None)
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "unknown")


class _ConsultantSMTP(SMTP):
    line_length_limit = LINE_LIMIT

    async def push(self, status):
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else str(status)
        if text.startswith("552 Error"):  # aiosmtpd's own wording says nothing useful to the sender
            text = refuse_size(self.data_size_limit).smtp_reply()
        elif text.startswith("500 Line too long"):
            text = f"500 5.5.2 a line of the message is over {LINE_LIMIT} bytes; the message was not read"
        elif text.startswith("500 Error"):  # aiosmtpd's catch-all names the exception: say nothing of it
            text = "451 4.3.0 the command could not be handled because of an internal error; try again later"
        # An SMTP reply is ASCII unless the client asked for SMTPUTF8; never let an encoding error end the session.
        return await super().push(text.encode("ascii", "replace").decode("ascii"))

    async def _handle_client(self) -> None:
        connections: ConnectionCounts = self.event_handler.connections
        peer = peer_address(self.session)
        if not connections.open(peer):
            await super().push("421 4.7.0 too many connections from your address; try again later")
            self.transport.close()
            return
        try:
            await super()._handle_client()
        finally:
            connections.close(peer)


class _Controller(Controller):
    def factory(self):
        return _ConsultantSMTP(self.handler, **self.SMTP_kwargs)


class ConsultantHandler:
    def __init__(self, consultant: MailConsultant, mail_queue: MailQueue):
        self.consultant, self.queue = consultant, mail_queue
        self.connections = ConnectionCounts(consultant.config.smtp_connections_per_client)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        session.casepilot_transactions = getattr(session, "casepilot_transactions", 0) + 1
        if session.casepilot_transactions > self.consultant.config.smtp_max_transactions:
            return (f"452 4.5.3 at most {self.consultant.config.smtp_max_transactions} messages per connection; "
                    "reconnect to send more")
        if not envelope_address(address):  # MAIL FROM:<> is a bounce: answering it could loop
            self.consultant.count("refused_automatic")
            return "550 5.7.1 automatic messages are not answered (bounces, with an empty sender, never are)"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        try:
            self.consultant.check_sender(envelope_address(envelope.mail_from))
        except MailRefused as refusal:
            self.consultant.count(f"refused_{refusal.kind}")
            return refusal.smtp_reply()
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        try:
            data, sender = bytes(raw), envelope_address(envelope.mail_from)
            self.consultant.screen(data, sender, client=peer_address(session))  # cheap: on the event loop
            parsed = await loop.run_in_executor(None, lambda: self.consultant.admit(data, sender, screened=True))
            await loop.run_in_executor(None, self.queue.accept, data)
        except MailRefused as refusal:
            return refusal.smtp_reply()
        except Exception as error:
            log.error("SMTP DATA failed: %s", type(error).__name__, exc_info=error)
            return "451 4.3.0 the message could not be taken in because of an internal error; try again later"
        count = len(parsed.questions)
        what = "1 question" if count == 1 else f"{count} questions"
        return f"250 2.0.0 accepted ({what}); the answer will be mailed to <{parsed.sender}>"


class MailListener:
    """The listener and its answering queue. ``start()`` blocks until the port is bound."""

    def __init__(self, consultant: MailConsultant, host: str | None = None, port: int | None = None,
                 mail_queue: MailQueue | None = None):
        config = consultant.config
        self.consultant = consultant
        self.host = host or config.smtp_host
        self.port = int(port if port is not None else config.smtp_port)
        self.queue = mail_queue or MailQueue(consultant)
        self.handler = ConsultantHandler(consultant, self.queue)
        self.controller = _Controller(self.handler, hostname=self.host, port=self.port,
                                      data_size_limit=config.max_bytes, enable_SMTPUTF8=True, decode_data=False,
                                      ident="CasePilot CaseConsultant")
        if not config.log_bodies:
            # aiosmtpd logs every command line (addresses) at INFO and every DATA line at DEBUG.
            logging.getLogger("mail.log").setLevel(logging.WARNING)

    def start(self) -> MailListener:
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback:
            log.warning("the mail listener is bound to %s, not loopback: put it behind your MTA", self.host)
        self.queue.start()
        self.controller.start()
        log.info("mail listener on %s:%d (replies to %s)", self.host, self.port,
                 "relay" if self.consultant.config.relay_host else self.consultant.config.outbox)
        return self

    def stop(self) -> None:
        try:
            self.controller.stop()
        finally:
            self.queue.close()

    def __enter__(self) -> MailListener:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
