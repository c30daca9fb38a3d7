"""The CaseConsultant: admit a message (size, sender allow-list, quota), answer its questions with the query
service, build the reply and deliver it (SMTP relay, else the Maildir outbox).

Both intakes use it: ``POST /v1/mail`` answers at once (:meth:`MailConsultant.handle`); the SMTP listener admits
a message while the client waits (refusals are SMTP 5xx with the reason), writes it to the Maildir inbox
(``data_dir/inbox``), says 250, and a :class:`MailQueue` worker answers it. A message is taken out of the inbox
only once its reply is written, and messages left in the inbox by a stopped process are answered at the next
start: an accepted message is not lost.

Quotas: the API's own :class:`api.access.Quotas` (the app's instance when mounted in it, so a sender has one
count), with each allowed sender counted as a registered-tier principal ``mail:<address>``: one message is one
request. Privacy: log lines hold sizes, counts, the sender's domain and keyed hashes, never a body, subject or
address, unless ``log_bodies`` is set.
"""

from __future__ import annotations

import logging
import mailbox
import queue
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from api.access import Principal, Quotas, fingerprint, seconds_to_midnight_utc
from api.mail.authn import verify_sender
from api.mail.compose import QuestionResult, build_reply
from api.mail.config import MailConfig
from api.mail.limits import DailyCounts, RateWindow, normalized_sender
from api.mail.parse import (
    MailHead,
    ParsedMail,
    UnreadableMail,
    human_size,
    parse_message,
    read_head,
)
from rag.service import QuestionError

log = logging.getLogger("casepilot.mail")


class MailRefused(Exception):
    """A message refused, not answered: an SMTP 5xx at RCPT/DATA time, or an HTTP error, with the reason."""

    def __init__(self, kind: str, reason: str, smtp_code: int, enhanced: str, http_status: int,
                 headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.kind, self.reason, self.smtp_code, self.enhanced = kind, reason, smtp_code, enhanced
        self.http_status, self.headers = http_status, headers or {}

    def smtp_reply(self) -> str:
        reason = " ".join(self.reason.split())[:400]
        return f"{self.smtp_code} {self.enhanced} {reason}"


def refuse_sender() -> MailRefused:
    # Nothing of the message (not even the address) is echoed: the text goes back to whoever sent it, and an
    # address with raw 8-bit bytes could not be encoded in an SMTP reply.
    return MailRefused("not_allowed", "the sender is not on CasePilot's allow-list; this message was not "
                       "answered (ask your CasePilot administrator to add your address or domain)",
                       550, "5.7.1", 403)


def refuse_unauthenticated() -> MailRefused:
    return MailRefused("not_authenticated", "the From: address could not be verified (no DKIM, SPF or DMARC pass "
                       "for its domain from this server's mail exchanger, and the envelope sender differs); this "
                       "message was not answered", 550, "5.7.23", 403)


def refuse_rate(per_minute: int) -> MailRefused:
    return MailRefused("rate", f"more than {per_minute} messages a minute from this client; try again in a "
                       "minute", 450, "4.7.0", 429, headers={"Retry-After": "60"})


def refuse_domain_quota(limit: int) -> MailRefused:
    retry = seconds_to_midnight_utc()
    return MailRefused("domain_quota", f"this sender's domain has used its quota of {limit} messages per day; it "
                       "resets at midnight UTC", 550, "5.7.1", 429, headers={"Retry-After": str(retry)})


def refuse_size(limit: int, size: int | None = None) -> MailRefused:
    got = f" ({human_size(size)})" if size else ""
    return MailRefused("too_large", f"the message{got} is over the {human_size(limit)} limit and was not read; "
                       "send the question as text without large attachments", 552, "5.3.4", 413)


def refuse_unreadable(reason: str) -> MailRefused:
    return MailRefused("unreadable", f"the message could not be read: {reason}", 550, "5.6.0", 422)


def refuse_automatic(reason: str) -> MailRefused:
    return MailRefused("automatic", f"automatic messages are not answered ({reason})", 550, "5.7.1", 422)


def refuse_quota(limit: int) -> MailRefused:
    retry = seconds_to_midnight_utc()
    return MailRefused("quota", f"this sender's quota of {limit} messages per day is used up; it resets at "
                       "midnight UTC", 550, "5.7.1", 429,
                       headers={"Retry-After": str(retry), "X-RateLimit-Limit": str(limit),
                                "X-RateLimit-Remaining": "0"})


def sender_tag(address: str) -> str:
    """What a log line may say about a sender: keyed hashes of the address and of its domain, never either."""
    address = (address or "").lower()
    return f"sender={fingerprint(address)[:10]} domain={fingerprint(address.rpartition('@')[2])[:10]}"


def _message_tag(raw: bytes) -> str:
    """A keyed hash of the message's start, to match log lines: hashing all of a 10 MB message cost 30 ms."""
    return fingerprint(raw[:64 * 1024].decode("latin-1"))[:10]


@dataclass
class Handled:
    parsed: ParsedMail
    results: list[QuestionResult]
    reply: EmailMessage
    delivered: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def open_maildir(path: Path) -> mailbox.Maildir:
    """A Maildir at ``path``, created with its tmp/new/cur folders (private: messages may hold patient details)."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(mode=0o700, exist_ok=True)
    return mailbox.Maildir(path, factory=None, create=False)


class Outbox:
    """Delivery: to the SMTP relay when one is configured, else (or when the relay fails) the Maildir outbox."""

    def __init__(self, config: MailConfig):
        self.config = config
        self._lock = threading.Lock()
        self._maildir: mailbox.Maildir | None = None

    @property
    def maildir(self) -> mailbox.Maildir:
        with self._lock:
            if self._maildir is None:
                self._maildir = open_maildir(self.config.outbox)
            return self._maildir

    def deliver(self, reply: EmailMessage) -> str:
        if self.config.relay_host:
            try:
                self._relay(reply)
                return f"relay:{self.config.relay_host}:{self.config.relay_port}"
            except (OSError, smtplib.SMTPException) as error:
                log.error("relay %s:%s failed (%s); reply kept in the outbox", self.config.relay_host,
                          self.config.relay_port, type(error).__name__)
                reply["X-CasePilot-Undelivered"] = f"relay failed: {type(error).__name__}"
        return f"maildir:{self.write(reply)}"

    def write(self, reply: EmailMessage) -> str:
        data = reply.as_bytes()
        maildir = self.maildir
        with self._lock:
            return maildir.add(data)

    def _relay(self, reply: EmailMessage) -> None:
        config = self.config
        with smtplib.SMTP(config.relay_host, config.relay_port, timeout=config.relay_timeout_s) as client:
            client.ehlo()
            if config.relay_starttls:
                client.starttls()
                client.ehlo()
            if config.relay_username:
                client.login(config.relay_username, config.relay_secret)
            client.send_message(reply)


class MailConsultant:
    def __init__(self, config: MailConfig, service=None, quotas: Quotas | None = None, metrics=None):
        """``service``: a QueryService, or a callable returning one (None while it loads)."""
        self.config = config
        self._service = service
        self.quotas = quotas or Quotas({"guest": config.guest_quota_per_day,
                                        "registered": config.registered_quota_per_day})
        self.metrics = metrics
        self.outbox = Outbox(config)
        self.domain_counts = DailyCounts()
        self.client_rate = RateWindow(config.client_per_minute)
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------ service

    def service(self, wait_s: float = 0.0):
        deadline = time.monotonic() + wait_s
        while True:
            service = self._service() if callable(self._service) else self._service
            if service is not None or time.monotonic() >= deadline:
                return service
            time.sleep(0.25)

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    # ------------------------------------------------------------ admission

    def check_sender(self, address: str) -> None:
        """Allow-list and loop checks on one address; raises MailRefused."""
        if not address:
            raise refuse_automatic("bounces, with an empty sender, are never answered")
        if address.lower() == self.config.address.lower():
            raise refuse_automatic("it comes from the consultant's own address")
        if not self.config.sender_allowed(address):
            raise refuse_sender()

    def check_size(self, size: int) -> None:
        if size > self.config.max_bytes:
            raise refuse_size(self.config.max_bytes, size)

    def check_client(self, client: str) -> None:
        """Messages per minute from one client address (the HTTP caller or the SMTP peer)."""
        if not self.client_rate.hit(client):
            raise refuse_rate(self.config.client_per_minute)

    def check_authenticated(self, head: MailHead, envelope_sender: str | None) -> None:
        if not self.config.require_authentication:
            return
        verdict = verify_sender(head.sender, envelope_sender, head.authentication_results,
                                self.config.trusted_authserv_ids)
        if not verdict.authenticated:
            raise refuse_unauthenticated()

    def count_quotas(self, sender: str) -> None:
        """One message against the sender's daily quota (its mailbox, +tags folded) and its domain's."""
        principal = Principal(tier="registered", identity=f"mail:{normalized_sender(sender)}")
        allowed, limit, _ = self.quotas.hit(principal)
        if not allowed:
            if self.metrics is not None:
                self.metrics.quota_rejections.labels("mail").inc()
            raise refuse_quota(limit)
        entry = self.config.allow_entry(sender) or normalized_sender(sender).rpartition("@")[2]
        if not self.domain_counts.hit(entry, self.config.domain_quota_per_day):
            if self.metrics is not None:
                self.metrics.quota_rejections.labels("mail_domain").inc()
            raise refuse_domain_quota(self.config.domain_quota_per_day)

    def parse(self, raw: bytes) -> ParsedMail:
        return parse_message(raw, self.config.max_questions, max_html_bytes=self.config.max_html_bytes,
                             max_text_chars=self.config.max_text_chars)

    def screen(self, raw: bytes, envelope_sender: str | None = None, count_quota: bool = True,
               client: str | None = None) -> MailHead:
        """Everything that can refuse a message before its body is parsed: size, the client's rate, the sender
        read from the header block alone, its authentication, quotas. Bounded by the header block (about a
        millisecond), so the intakes run it on the event loop: a refusal never waits for a busy thread."""
        try:
            self.check_size(len(raw))
            if client is not None:
                self.check_client(client)
            if envelope_sender is not None:
                self.check_sender(envelope_sender)
            try:
                head = read_head(raw, self.config.max_header_bytes)
            except UnreadableMail as error:
                raise refuse_unreadable(str(error)) from None
            self.check_sender(head.sender)
            if head.automatic:
                raise refuse_automatic(head.automatic)
            self.check_authenticated(head, envelope_sender)
            if count_quota:
                self.count_quotas(head.sender)
        except MailRefused as refusal:
            self._refused(refusal, raw)
            raise
        return head

    def admit(self, raw: bytes, envelope_sender: str | None = None, count_quota: bool = True,
              client: str | None = None, screened: bool = False) -> ParsedMail:
        """:meth:`screen` (unless the caller did), then parse the message. Raises MailRefused with the reason."""
        if not screened:
            self.screen(raw, envelope_sender, count_quota, client)
        try:
            parsed = self.parse(raw)
        except UnreadableMail as error:
            refusal = refuse_unreadable(str(error))
            self._refused(refusal, raw)
            raise refusal from None
        parsed.envelope_sender = envelope_sender
        self.count("admitted")
        log.info("mail admitted: %s bytes=%d hmac=%s questions=%d attachments=%d problems=%d",
                 sender_tag(parsed.sender), len(raw), _message_tag(raw), len(parsed.questions),
                 len(parsed.attachments), len(parsed.problems))
        if self.config.log_bodies:
            log.info("mail text: %r", parsed.text[:4000])
        return parsed

    def _refused(self, refusal: MailRefused, raw: bytes) -> None:
        self.count(f"refused_{refusal.kind}")
        log.info("mail refused: %s bytes=%d hmac=%s", refusal.kind, len(raw), _message_tag(raw))

    # ------------------------------------------------------------ answers

    def answer(self, parsed: ParsedMail, wait_s: float = 0.0) -> list[QuestionResult]:
        service = self.service(wait_s)
        if service is None:
            raise RuntimeError("the query service is not available")
        results = []
        for question in parsed.questions:
            try:
                answer = service.ask(question)
                results.append(QuestionResult(question, answer))
                if self.metrics is not None:
                    self.metrics.answered("mail", answer.abstained, len(answer.removed_codes))
            except QuestionError as error:
                results.append(QuestionResult(question, error=f"{error}."))
            except Exception as error:  # one failed question does not sink the others
                log.error("mail question failed: %s", type(error).__name__, exc_info=error)
                results.append(QuestionResult(question, error="an internal error stopped this answer; it has been "
                                                               "logged. Please send the question again."))
        return results

    def respond(self, parsed: ParsedMail, wait_s: float = 0.0) -> Handled:
        started = time.perf_counter()
        results = self.answer(parsed, wait_s)
        answered = time.perf_counter()
        reply = build_reply(parsed, results, self.config)
        delivered = self.outbox.deliver(reply)
        self.count("answered")
        timings = {"answer_ms": round((answered - started) * 1000, 1),
                   "reply_ms": round((time.perf_counter() - answered) * 1000, 1)}
        log.info("mail answered: %s questions=%d abstained=%d delivered=%s %.0fms", sender_tag(parsed.sender),
                 len(results), sum(1 for r in results if r.answer is not None and r.answer.abstained),
                 delivered.partition(":")[0], sum(timings.values()))
        return Handled(parsed, results, reply, delivered, timings)

    def handle(self, raw: bytes, envelope_sender: str | None = None, client: str | None = None) -> Handled:
        """The HTTP path: admit, answer and deliver at once. Raises MailRefused."""
        return self.respond(self.admit(raw, envelope_sender, client=client))

    def failure_reply(self, parsed: ParsedMail) -> Handled:
        results = [QuestionResult(q, error="an internal error stopped this answer; it has been logged. Please "
                                           "send the question again.") for q in parsed.questions]
        reply = build_reply(parsed, results, self.config)
        return Handled(parsed, results, reply, self.outbox.deliver(reply))


class MailQueue:
    """Accepted SMTP messages: written to the Maildir inbox before the 250, answered by worker threads."""

    def __init__(self, consultant: MailConsultant, workers: int | None = None,
                 on_done: Callable[[float, float], None] | None = None):
        self.consultant = consultant
        self.config = consultant.config
        self.inbox = open_maildir(self.config.inbox)
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self.latencies_s: list[float] = []  # accept -> reply written
        self.work_s: list[float] = []       # taken from the queue -> reply written
        self.on_done = on_done
        self._threads = [threading.Thread(target=self._work, name=f"casepilot-mail-{i}", daemon=True)
                         for i in range(max(1, workers or self.config.workers))]

    def start(self) -> MailQueue:
        pending = self.recover()
        if pending:
            log.info("mail inbox: %d accepted messages left from a previous run will be answered", pending)
        for thread in self._threads:
            thread.start()
        return self

    def recover(self) -> int:
        with self._lock:
            keys = list(self.inbox.iterkeys())
        for key in keys:
            self._queue.put((key, time.time()))
        return len(keys)

    def accept(self, raw: bytes) -> str:
        """Store an admitted message (durably: Maildir tmp -> new) and queue it. Returns its inbox key."""
        accepted_at = time.time()
        with self._lock:
            key = self.inbox.add(raw)
        self._queue.put((key, accepted_at))
        return key

    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def join(self, timeout_s: float = 60.0) -> bool:
        """Wait until every queued message is answered; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=timeout_s)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._process(*item)
            finally:
                self._queue.task_done()

    def _process(self, key: str, accepted_at: float) -> None:
        started = time.time()
        try:
            with self._lock:
                raw = self.inbox.get_bytes(key)
        except KeyError:
            return  # already answered by another worker (recovery overlap)
        try:
            parsed = self.consultant.parse(raw)
        except UnreadableMail:
            log.error("mail inbox: message %s became unreadable; removed", key)
            self._remove(key)
            return
        while not self._stop.is_set() and self.consultant.service() is None:
            time.sleep(0.25)  # the service is loading: the message waits in the inbox
        if self._stop.is_set():
            return  # stays in the inbox for the next start
        try:
            self.consultant.respond(parsed)
        except Exception as error:
            log.error("mail answer failed: %s", type(error).__name__, exc_info=error)
            try:
                self.consultant.failure_reply(parsed)
            except Exception:
                log.exception("mail: the failure reply could not be written; the message stays in the inbox")
                return
        self._remove(key)
        done = time.time()
        with self._lock:
            self.latencies_s.append(done - accepted_at)
            self.work_s.append(done - started)
        if self.on_done is not None:
            self.on_done(accepted_at, done)

    def _remove(self, key: str) -> None:
        with self._lock:
            try:
                self.inbox.remove(key)
            except KeyError:
                pass


def outbox_count(path: Path) -> int:
    """Replies in a Maildir outbox (new/ and cur/)."""
    return sum(1 for sub in ("new", "cur") if (path / sub).is_dir() for f in (path / sub).iterdir() if f.is_file())
