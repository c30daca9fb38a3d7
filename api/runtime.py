"""What the app holds while it runs: the CasePilot (injected, or opened in the background), the key store,
the quotas, the response cache and the metrics."""

from __future__ import annotations

import logging
import threading

from rag.app import CasePilot, Services
from rag.claims import ClaimChecker
from rag.codepage import CodePages
from rag.service import QueryService
from rag.settings import Settings
from rag.timing import Timings

from api.access import KeyStore, Quotas
from api.cache import ResponseCache
from api.observe import Metrics

log = logging.getLogger("casepilot.api")

WARM_UP_QUESTIONS = ("When is vertebral augmentation covered?", "bone cement spine fracture")


class Runtime:
    def __init__(self, settings: Settings, casepilot: CasePilot | None = None):
        self.settings = settings
        self.casepilot: CasePilot | None = None
        self.owns_casepilot = casepilot is None
        self.failure = ""
        self.metrics = Metrics()
        self.keys = KeyStore.from_settings(settings)
        self.quotas = Quotas.from_settings(settings)
        self.cache = ResponseCache(settings.response_cache_size, self.metrics.cache)
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        if casepilot is not None:
            self.casepilot = casepilot

    # ------------------------------------------------------------ what a request reads

    def services(self) -> Services | None:
        """The services over the current data snapshot: take it once per request."""
        return self.casepilot.services() if self.casepilot is not None else None

    @property
    def service(self) -> QueryService | None:
        services = self.services()
        return services.query if services is not None else None

    @property
    def pages(self) -> CodePages | None:
        services = self.services()
        return services.pages if services is not None else None

    @property
    def claims(self) -> ClaimChecker | None:
        services = self.services()
        return services.claims if services is not None else None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Open CasePilot in a background thread, so /healthz answers and /readyz says 503 meanwhile."""
        if self.casepilot is not None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._open, name="casepilot-open", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        timings = Timings()
        try:
            casepilot = CasePilot.open(self.settings, background_refresh=True)
            if self._closed.is_set():
                casepilot.close()
                return
            self._warm_up(casepilot)
            self.casepilot = casepilot
            log.info("query service ready in %.1fs", timings.total() / 1000)
        except Exception as error:  # reported by /readyz; the process stays up for /healthz and the logs
            self.failure = f"{type(error).__name__}: {error}"
            log.exception("the query service could not be opened")

    @staticmethod
    def _warm_up(casepilot: CasePilot) -> None:
        """Load the lazily built indexes and the embedding model before the first real request."""
        try:
            casepilot.warm()
            services = casepilot.services()
            for text in WARM_UP_QUESTIONS:
                services.query.search_codes(text, limit=5)
                services.query.ask(text)
        except Exception:  # warm-up is best effort; real requests report real errors
            log.exception("warm-up failed")

    def ready(self) -> bool:
        ready = self.casepilot is not None and self.casepilot.ready()
        self.metrics.ready.set(1 if ready else 0)
        return ready

    def close(self) -> None:
        self._closed.set()
        if self.casepilot is not None and self.owns_casepilot:
            self.casepilot.close()
