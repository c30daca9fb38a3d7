"""What the app holds while it runs: the query service (injected, or opened in the background), the code and
claim services built on it, the key store, the quotas and the metrics."""

from __future__ import annotations

import logging
import threading
import time

from rag.claims import ClaimChecker
from rag.codepage import CodePages
from rag.service import QueryService
from rag.settings import Settings

from api.access import KeyStore, Quotas
from api.cache import ResponseCache
from api.observe import Metrics

log = logging.getLogger("casepilot.api")

WARM_UP_QUESTIONS = ("When is vertebral augmentation covered?", "bone cement spine fracture")


class Runtime:
    def __init__(self, settings: Settings, service: QueryService | None = None):
        self.settings = settings
        self.service: QueryService | None = None
        self.pages: CodePages | None = None
        self.claims: ClaimChecker | None = None
        self.owns_service = service is None
        self.failure = ""
        self.started_at = time.time()
        self.metrics = Metrics()
        self.keys = KeyStore.from_settings(settings)
        self.quotas = Quotas.from_settings(settings)
        self.cache = ResponseCache(settings.response_cache_size, self.metrics.cache)
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        if service is not None:
            self._attach(service)

    def _attach(self, service: QueryService) -> None:
        self.pages = CodePages(service.reference, service.retriever, service.check)
        self.claims = ClaimChecker(service.reference, service.check)
        self.service = service

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Open the service in a background thread, so /healthz answers and /readyz says 503 meanwhile."""
        if self.service is not None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._open, name="casepilot-open", daemon=True)
        self._thread.start()

    def _open(self) -> None:
        started = time.perf_counter()
        try:
            service = QueryService.from_settings(self.settings)
            if self._closed.is_set():
                service.close()
                return
            self._warm_up(service)
            self._attach(service)
            log.info("query service ready in %.1fs", time.perf_counter() - started)
        except Exception as error:  # reported by /readyz; the process stays up for /healthz and the logs
            self.failure = f"{type(error).__name__}: {error}"
            log.exception("the query service could not be opened")

    @staticmethod
    def _warm_up(service: QueryService) -> None:
        """Load the lazily built indexes and the embedding model before the first real request."""
        try:
            service.check("00000")  # builds the code list used for suggestions
            for text in WARM_UP_QUESTIONS:
                service.search_codes(text, limit=5)
                service.ask(text)
        except Exception:  # warm-up is best effort; real requests report real errors
            log.exception("warm-up failed")

    def data_version(self) -> float:
        """Changes whenever a release is activated (cache keys include it)."""
        return self.service.reference.catalog.mtime() if self.service is not None else 0.0

    def ready(self) -> bool:
        ready = self.service is not None and self.service.ready()
        self.metrics.ready.set(1 if ready else 0)
        return ready

    def close(self) -> None:
        self._closed.set()
        if self.service is not None and self.owns_service:
            self.service.close()
