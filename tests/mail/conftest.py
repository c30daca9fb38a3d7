"""Fixtures for the CaseConsultant tests: a real aiosmtpd listener on a free loopback port and a real uvicorn
server, both over the session's query service (the embedded vector store opens once per process)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # mail_messages (tests use --import-mode=importlib)

import mail_messages as m  # noqa: E402
from loopback import ThreadServer, free_port  # noqa: E402


@pytest.fixture
def mail_config(tmp_path):
    """A factory for MailConfig: outbox and inbox in the test's own folder, clinic.example allowed."""
    from api.mail.config import MailConfig
    from rag.settings import Settings

    def make(**overrides):
        values = dict(data_dir=tmp_path, address=m.CONSULTANT, allowed_senders=("clinic.example",),
                      outbox_dir=tmp_path / "outbox", inbox_dir=tmp_path / "inbox", workers=2)
        values.update(overrides)
        return MailConfig.from_settings(Settings(data_dir=tmp_path), **values)

    return make


@pytest.fixture
def smtp_listener(query_service, mail_config):
    """A factory: ``with smtp_listener(**config) as listener`` runs the listener on 127.0.0.1:<free port>."""
    from api.mail.consultant import MailConsultant
    from api.mail.smtp import MailListener

    @contextmanager
    def start(**overrides):
        config = mail_config(**overrides)
        listener = MailListener(MailConsultant(config, query_service), host="127.0.0.1", port=free_port())
        with listener:
            yield listener

    return start


@pytest.fixture
def mail_app(casepilot, mail_config):
    """A factory: the real app (api.main.create_app over the session's query service), its mail config set by
    the test, served by uvicorn on loopback."""
    from api.main import create_app
    from rag.settings import MailSettings, Settings

    @contextmanager
    def start(settings: dict | None = None, **overrides):
        config = mail_config(**overrides)
        mail = MailSettings(**{k: v for k, v in config.model_dump().items() if k in MailSettings.model_fields})
        settings = Settings(data_dir=casepilot.settings.data_dir, mail=mail, **(settings or {}))
        app = create_app(settings, casepilot=casepilot)  # mail configured: the router and its lifespan
        app.state.mail_config = config
        with ThreadServer(app) as server:
            server.app = app
            yield server

    return start
