"""casepilot-mail: the CaseConsultant on its own, without the HTTP API.

    casepilot-mail serve [--host 127.0.0.1] [--port 8025]   run the SMTP listener until Ctrl-C
    casepilot-mail answer MESSAGE.eml ...                    answer saved messages (as POST /v1/mail would)

Settings as everywhere: CASEPILOT_DATA_DIR, CASEPILOT_MAIL__ALLOWED_SENDERS='["clinic.example"]', ... Replies
go to the relay (CASEPILOT_MAIL__RELAY_HOST) or the Maildir outbox data_dir/outbox. The embedded vector store
can be opened by one process only: to run the listener next to the API, set CASEPILOT_MAIL__SMTP_ENABLED=true
for casepilot-serve instead of running this command.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def main(argv: list[str] | None = None) -> int:
    from api.mail.config import MailConfig
    from api.mail.consultant import MailConsultant, MailRefused
    from rag.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="casepilot-mail", description="CasePilot CaseConsultant (mail intake)")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the SMTP listener")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    answer = sub.add_parser("answer", help="answer saved RFC 822 messages")
    answer.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    config = MailConfig.from_settings(settings)
    if not config.allowed_senders:
        logging.getLogger("casepilot.mail").warning(
            "no allowed senders (CASEPILOT_MAIL__ALLOWED_SENDERS): every message will be refused")
    from rag.app import CasePilot

    casepilot = CasePilot.open(settings, background_refresh=True)
    consultant = MailConsultant(config, lambda: casepilot.services().query)
    try:
        if args.command == "answer":
            status = 0
            for path in args.files:
                try:
                    handled = consultant.handle(path.read_bytes())
                    print(f"{path}: answered {len(handled.results)} question(s) -> {handled.delivered}")
                except MailRefused as refusal:
                    print(f"{path}: refused: {refusal.reason}")
                    status = 1
            return status
        from api.mail.smtp import MailListener

        listener = MailListener(consultant, host=args.host if args.command == "serve" else None,
                                port=args.port if args.command == "serve" else None)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with listener:
            print(f"CaseConsultant listening on {listener.host}:{listener.port}", flush=True)
            try:
                stop.wait()
            except KeyboardInterrupt:
                pass
        return 0
    finally:
        casepilot.close()


if __name__ == "__main__":
    sys.exit(main())
