"""CaseConsultant benchmark: N messages sent by C concurrent SMTP clients (threads with smtplib) to the mail
listener on 127.0.0.1, answered by the query service over an ingested data directory. Prints figures and checks
that none is lost: every message is answered (a reply in the Maildir outbox) or refused with a reason (an SMTP
5xx with text), and replies + refusals == messages.

    CASEPILOT_DATA_DIR=/tmp/cp-data casepilot-ingest all          # once: corpora, ICD-10-CM, ../shared/data
    python benchmarks/bench_mail.py --data-dir /tmp/cp-data [--messages 200] [--clients 10] [--workers 2]

The mix: single questions (exact PTP/MUE/code facts and retrieval), several questions in one message,
windows-1252 and HTML-only messages, a quoted reply, one message in ten from a sender not on the allow-list
(refused at RCPT), and a few unreadable ones (refused at DATA) and an oversize one (refused at MAIL, SIZE=).
Accept -> reply is measured from the moment the message is in the inbox (just before the 250) to the moment its
reply is in the outbox, so it includes the wait in the queue behind earlier messages. The machine's load
average is sampled while it runs (the machine is shared: report it with the figures).

    python benchmarks/bench_mail.py --dos --data-dir /tmp/cp-data [--load-requests 300] [--hostile-clients 8]

``--dos`` (issue 15, finding 1): a real casepilot-serve process (over a copy of the data directory, mail
configured, response cache off) is sent the hostile messages of the issue: 100 KB of ``x<br>`` and 1 MB of
nested ``<div>``, from a sender not on the allow-list and from an allowed, authenticated one. Prints the time
to each answer (the refusal must take under 50 ms), then the p50/p95 of a 50-client ``/v1/ask`` load without and
while 8 hostile 58 KB messages arrive (``--hostile-messages N``: N each; the target: p95 within 1.5x).
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import queue
import resource
import smtplib
import socket
import statistics
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ALLOWED_DOMAIN = "clinic.example"
CONSULTANT = "consultant@casepilot.bench"
QUESTIONS = [
    "Can 22511 and 22514 be billed together?",
    "Can 22513 and 22515 be billed on the same day?",
    "How many units of 97140 can be billed per day?",
    "Is 22511 a valid code?",
    "What does modifier 59 mean?",
    "When is vertebral augmentation covered?",
    "Is J9999 a valid HCPCS code?",
    "What is the MUE for 20610?",
    "Can 99213 and 20610 be billed together?",
    "What ICD-10-CM code is used for an osteoporotic vertebral fracture?",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(index: int) -> tuple[str, bytes]:
    """(envelope sender, raw message) for message number ``index``."""
    sender = f"coder{index % 25}@{ALLOWED_DOMAIN}"
    question = QUESTIONS[index % len(QUESTIONS)]
    kind = index % 20
    if index % 10 == 9:
        sender = f"stranger{index}@elsewhere.example"
    if kind == 7:  # unreadable: no From address
        return sender, b"this is not an email\r\n" * 20
    if index == 101:  # oversize, declared with SIZE=
        return sender, b"X-Pad: " + b"a" * (11 * 1024 * 1024) + b"\r\n"
    msg = EmailMessage()
    msg["From"] = f"Coder {index} <{sender}>"
    msg["To"] = CONSULTANT
    msg["Subject"] = f"Question {index}"
    msg["Message-ID"] = make_msgid(idstring=f"b{index}", domain=ALLOWED_DOMAIN)
    if kind == 3:  # several questions
        second = QUESTIONS[(index + 3) % len(QUESTIONS)]
        msg.set_content(f"Hi,\n\n1. {question}\n2. {second}\n\nThanks,\nCoder")
    elif kind == 5:  # HTML only
        msg.set_content(f"<html><body><p>Hello,</p><p>{question}</p><p>Best,<br>Coder</p></body></html>",
                        subtype="html")
    elif kind == 11:  # windows-1252, 8bit
        body = f"{question} (patient\u2019s case \u2013 urgent)\r\n".encode("windows-1252")
        head = msg.as_bytes(policy=SMTP_POLICY).split(b"\r\n\r\n")[0]
        return sender, (head + b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=windows-1252\r\n"
                        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)
    elif kind == 13:  # a quoted reply: only the new question is answered
        msg["In-Reply-To"] = msg["References"] = "<earlier@casepilot.bench>"
        msg.set_content(f"{question}\n\nOn Mon, 3 Mar 2025, CasePilot <{CONSULTANT}> wrote:\n"
                        "> Is 99999 a valid code?\n-- \nCoder\n")
    else:
        msg.set_content(question)
    return sender, msg.as_bytes(policy=SMTP_POLICY)


def send(port: int, sender: str, raw: bytes) -> dict:
    started = time.perf_counter()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=300) as client:
            client.ehlo("bench.clinic.example")
            code, text = client.mail(sender, [f"SIZE={len(raw)}"])
            step = "MAIL"
            if code == 250:
                code, text = client.rcpt(CONSULTANT)
                step = "RCPT"
            if code == 250:
                code, text = client.data(raw)
                step = "DATA"
        return {"step": step, "code": code, "text": text.decode(errors="replace"),
                "seconds": time.perf_counter() - started}
    except (OSError, smtplib.SMTPException) as error:
        return {"step": "error", "code": 0, "text": f"{type(error).__name__}: {error}",
                "seconds": time.perf_counter() - started}


class LoadSampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(1.0):
            self.samples.append(os.getloadavg()[0])


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat (0, 0 where there is none)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def r3(value: float) -> float:
    return round(value, 3)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def hostile(kind: str, sender: str) -> bytes:
    """The issue's messages: ``br`` 100 KB of x<br>, ``div`` 1 MB of nested divs, ``div58`` 58 KB of them."""
    body = {"br": "x<br>" * 20_000, "div": "<div>" * 200_000 + "x", "div58": "<div>" * 11_600 + "x"}[kind]
    msg = EmailMessage()
    msg["Authentication-Results"] = f"casepilot.bench; dkim=pass header.d={sender.rpartition('@')[2]}"
    msg["From"] = sender
    msg["To"] = CONSULTANT
    msg["Subject"] = "hostile"
    msg.set_content(f"<html><body>{body}</body></html>", subtype="html")
    return msg.as_bytes(policy=SMTP_POLICY)


def start_mail_server(data_dir: Path, port: int, log_path: Path):
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEPILOT_")}
    env.update({"CASEPILOT_DATA_DIR": str(data_dir), "CASEPILOT_HOST": "127.0.0.1", "CASEPILOT_PORT": str(port),
                "CASEPILOT_GUEST_QUOTA_PER_DAY": "100000000", "CASEPILOT_REGISTERED_QUOTA_PER_DAY": "100000000",
                "CASEPILOT_RESPONSE_CACHE_SIZE": "0", "CASEPILOT_MAIL__ALLOWED_SENDERS": ALLOWED_DOMAIN,
                "CASEPILOT_MAIL__ADDRESS": CONSULTANT, "CASEPILOT_MAIL__CLIENT_PER_MINUTE": "100000000",
                "CASEPILOT_MAIL__DOMAIN_QUOTA_PER_DAY": "100000000", "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    script = Path(sys.executable).with_name("casepilot-serve")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "api.server"]
    with open(log_path, "wb") as log:
        return subprocess.Popen([*command, "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)


def dos(args) -> int:
    import asyncio
    import shutil

    import httpx
    from bench_api_load import Pools, make_requests, percentile, run_load, wait_ready

    work = Path(tempfile.mkdtemp(prefix="bench-mail-dos-"))
    data_dir = work / "data"
    shutil.copytree(args.data_dir, data_dir, ignore=shutil.ignore_patterns("*.lock"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_mail_server(data_dir, port, work / "server.log")
    figures: dict = {"load_average_before": round(os.getloadavg()[0], 2), "cores": os.cpu_count()}
    try:
        figures["startup_s"] = round(wait_ready(url, process, 900), 1)
        rfc822 = {"Content-Type": "message/rfc822"}
        with httpx.Client(base_url=url, timeout=600) as client:
            for kind in ("br", "div"):
                for who, sender in (("unknown", "mallory@elsewhere.example"), ("allowed", f"coder@{ALLOWED_DOMAIN}")):
                    raw = hostile(kind, sender)
                    times, statuses = [], set()
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        response = client.post("/v1/mail", content=raw, headers=rfc822)
                        times.append((time.perf_counter() - started) * 1000)
                        statuses.add(response.status_code)
                    figures[f"{kind}_{len(raw) // 1024}KB_from_{who}"] = {
                        "status": sorted(statuses), "median_ms": round(statistics.median(times), 1),
                        "p95_ms": round(pct(times, 0.95), 1), "max_ms": round(max(times), 1)}
        pools = Pools(data_dir, args.seed)
        asks = [r for r in make_requests(args.load_requests * 8, args.seed, pools) if r[0] == "ask"]
        warmup, asks = asks[:100], asks[100:]
        baseline_requests, hostile_requests = asks[: args.load_requests], asks[args.load_requests: 2 * args.load_requests]
        asyncio.run(run_load(url, warmup, 50, 120))  # not counted: the first requests pay for lazy loading
        baseline = asyncio.run(run_load(url, baseline_requests, 50, 120))
        stop = threading.Event()
        sent: list[tuple[int, float]] = []

        def attacker(index: int) -> None:
            sender = f"coder{index}@{ALLOWED_DOMAIN}" if index % 2 else f"mallory{index}@elsewhere.example"
            raw = hostile("div58", sender)
            with httpx.Client(base_url=url, timeout=600) as client:
                for _ in range(args.hostile_messages):
                    if stop.is_set():
                        return
                    started = time.perf_counter()
                    status = client.post("/v1/mail", content=raw, headers=rfc822).status_code
                    sent.append((status, (time.perf_counter() - started) * 1000))

        attackers = [threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(args.hostile_clients)]
        for thread in attackers:
            thread.start()
        under_attack = asyncio.run(run_load(url, hostile_requests, 50, 120))
        stop.set()
        for thread in attackers:
            thread.join(timeout=60)
        p95_base, p95_attack = percentile(baseline["all"], 95) * 1000, percentile(under_attack["all"], 95) * 1000
        figures["ask_load"] = {
            "requests_each": args.load_requests, "clients": 50,
            "without_hostile": {"p50_ms": round(percentile(baseline["all"], 50) * 1000, 1),
                                "p95_ms": round(p95_base, 1), "errors": baseline["errors"]},
            "with_hostile": {"p50_ms": round(percentile(under_attack["all"], 50) * 1000, 1),
                             "p95_ms": round(p95_attack, 1), "errors": under_attack["errors"]},
            "p95_ratio": round(p95_attack / p95_base, 2) if p95_base else None,
            "hostile_messages_sent": len(sent), "hostile_statuses": sorted({s for s, _ in sent}),
            "hostile_median_ms": round(statistics.median([t for _, t in sent]), 1) if sent else None}
    finally:
        process.terminate()
        process.wait(timeout=30)
        figures["load_average_after"] = round(os.getloadavg()[0], 2)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, indent=2))
    refusals = [v for k, v in figures.items() if k.endswith("_from_unknown")]
    print(f"\nhostile refusals under 50 ms (p95): {all(r['p95_ms'] < 50 for r in refusals)}; ask p95 ratio under "
          f"attack: {figures.get('ask_load', {}).get('p95_ratio')} (target <= 1.5)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("CASEPILOT_DATA_DIR"),
                        help="an ingested data directory (CASEPILOT_DATA_DIR=... casepilot-ingest all)")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="answering threads")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for all replies")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--dos", action="store_true", help="the hostile-message benchmark (see above)")
    parser.add_argument("--repeat", type=int, default=10, help="--dos: sends of each hostile message")
    parser.add_argument("--load-requests", type=int, default=300, help="--dos: /v1/ask requests per load run")
    parser.add_argument("--hostile-clients", type=int, default=8, help="--dos: clients posting 58 KB hostile "
                        "messages during the second load run (half from allowed senders, half from strangers)")
    parser.add_argument("--hostile-messages", type=int, default=1, help="--dos: messages each of them posts (a "
                        "sustained flood from one address meets mail.client_per_minute, switched off here)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if not args.data_dir or not Path(args.data_dir, "reference").is_dir():
        parser.error("--data-dir must be an ingested data directory (CASEPILOT_DATA_DIR=DIR casepilot-ingest all)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.dos:
        sys.path.insert(0, str(REPO / "benchmarks"))
        return dos(args)

    from api.mail.config import MailConfig
    from api.mail.consultant import MailConsultant, outbox_count
    from api.mail.smtp import MailListener
    from rag.app import CasePilot
    from rag.settings import Settings

    load_before = os.getloadavg()
    opened = time.perf_counter()
    casepilot = CasePilot.open(Settings(data_dir=Path(args.data_dir)))
    service = casepilot.services().query
    service.ask(QUESTIONS[0])
    service.ask(QUESTIONS[5])  # loads the embedding model
    print(f"query service open and warm in {time.perf_counter() - opened:.1f}s over {args.data_dir}")

    work = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    config = MailConfig.from_settings(
        Settings(data_dir=Path(args.data_dir)), address=CONSULTANT, allowed_senders=(ALLOWED_DOMAIN,),
        registered_quota_per_day=10 ** 6, domain_quota_per_day=10 ** 6, client_per_minute=10 ** 6,
        smtp_connections_per_client=args.clients + 1, workers=args.workers, max_bytes=10 * 1024 * 1024,
        outbox_dir=work / "outbox", inbox_dir=work / "inbox")
    consultant = MailConsultant(config, service)
    listener = MailListener(consultant, host="127.0.0.1", port=free_port())
    messages = [build(i) for i in range(args.messages)]
    jobs: queue.Queue = queue.Queue()
    for index, (sender, raw) in enumerate(messages):
        jobs.put((index, sender, raw))
    results: dict[int, dict] = {}
    lock = threading.Lock()

    def client():
        while True:
            try:
                index, sender, raw = jobs.get_nowait()
            except queue.Empty:
                return
            outcome = send(listener.port, sender, raw)
            with lock:
                results[index] = outcome

    sampler = LoadSampler()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    machine_before = cpu_times()
    with listener:
        sampler.start()
        started = time.perf_counter()
        threads = [threading.Thread(target=client, name=f"smtp-client-{i}") for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sent_s = time.perf_counter() - started
        all_answered = listener.queue.join(args.timeout)
        total_s = time.perf_counter() - started
        sampler.stop.set()
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    machine_after = cpu_times()
    casepilot.close()

    accepted = [r for r in results.values() if r["code"] == 250]
    refused = [r for r in results.values() if r["code"] >= 400 and r["text"].strip()]
    errors = [r for r in results.values() if r["code"] == 0]
    replies = outbox_count(config.outbox)
    box = mailbox.Maildir(config.outbox, factory=None, create=False)
    stored = [box.get_bytes(key) for key in box.iterkeys()]
    threaded = sum(1 for data in stored if b"\nIn-Reply-To: <" in data and b"\nSubject: Re: " in data)
    cited = sum(1 for data in stored if b"Sources:" in data)
    weak = sum(1 for data in stored if b"evidence for this question was weak" in data)
    latencies = listener.queue.latencies_s
    work_s = listener.queue.work_s
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    refusal_kinds: dict[str, dict] = {}
    for r in refused:
        key = f"{r['step']} {r['code']} {r['text'].split()[0] if r['text'].split() else ''}"
        entry = refusal_kinds.setdefault(key, {"count": 0, "example": r["text"][:160]})
        entry["count"] += 1
    figures = {
        "messages": args.messages, "clients": args.clients, "workers": args.workers,
        "accepted_250": len(accepted), "refused_with_reason": len(refused), "client_errors": len(errors),
        "replies_in_maildir": replies, "replies_threaded": threaded, "replies_with_sources": cited,
        "replies_with_a_weak_evidence_note": weak,
        "replies_plus_refusals": replies + len(refused), "none_lost": replies + len(refused) == args.messages
        and replies == len(accepted) and all_answered,
        "refusals": refusal_kinds,
        "accept_to_reply_s": {"median": r3(statistics.median(latencies)) if latencies else None,
                              "p90": r3(pct(latencies, 0.9)), "max": r3(max(latencies, default=0.0))},
        "answer_work_s": {"median": r3(statistics.median(work_s)) if work_s else None,
                          "p90": r3(pct(work_s, 0.9))},
        "smtp_transaction_s": {"median": r3(statistics.median(r["seconds"] for r in results.values())),
                               "p90": r3(pct([r["seconds"] for r in results.values()], 0.9))},
        "all_sent_s": round(sent_s, 1), "all_answered_s": round(total_s, 1),
        "replies_per_minute": round(replies / total_s * 60, 1) if total_s else None,
        "process_cpu_s": round(cpu_s, 1), "process_cores_used": round(cpu_s / total_s, 2) if total_s else None,
        "load_average_1m": {"before": round(load_before[0], 2),
                            "during_median": round(statistics.median(sampler.samples), 2) if sampler.samples else None,
                            "during_max": round(max(sampler.samples, default=0), 2)},
        "machine_cpu_busy": round((machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1]), 2)
        if machine_after[1] > machine_before[1] else None,
        "cores": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2, default=str))
    if errors:
        print("client errors:", *[e["text"] for e in errors[:5]], sep="\n  ")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print(f"\nNONE LOST: {figures['none_lost']} ({replies} replies + {len(refused)} refusals = "
          f"{replies + len(refused)} of {args.messages})")
    return 0 if figures["none_lost"] else 1


if __name__ == "__main__":
    sys.exit(main())
