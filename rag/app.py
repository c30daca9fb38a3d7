"""The composition root: ``CasePilot.open(settings)`` builds every service from Settings, once.

Providers (embedder, vector store, optional LLM) are chosen in rag.providers.factory and live as long as the
CasePilot. Everything that reads the data (query service, code pages, claim checker, code search) is built
per data snapshot as one ``Services`` bundle: a request takes ``casepilot.services()`` once and reads one
consistent set of releases throughout. When the catalog changes, the next call builds a new bundle; with
``background_refresh`` (the server) the indexes built from the tables are built in a thread first, and the
previous bundle serves until the new one is ready, so no request waits on a rebuild.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from rag.case2code import CodeSearch
from rag.claims import ClaimChecker
from rag.codepage import CodePages
from rag.providers.embedding import Embedder
from rag.providers.factory import make_embedder, make_generator, make_vector_store
from rag.providers.llm import Generator
from rag.retrieve import HybridRetriever
from rag.service import QueryService
from rag.settings import Settings
from rag.snapshot import DataSnapshot, DataSource
from rag.stores.vectors import VectorStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """Every reader of the data, bound to one snapshot."""

    snapshot: DataSnapshot
    query: QueryService
    pages: CodePages
    claims: ClaimChecker
    search: CodeSearch

    @property
    def version(self) -> str:
        return self.snapshot.version

    def warm(self) -> None:
        """Build the indexes lazily built from the tables (code suggestions, vocabulary, descriptors)."""
        self.search.warm()


class CasePilot:
    def __init__(self, settings: Settings, *, embedder: Embedder | None, vector_store: VectorStore | None,
                 generator: Generator | None, background_refresh: bool = False):
        self.settings = settings
        self.embedder, self.vector_store, self.generator = embedder, vector_store, generator
        self.retriever = (HybridRetriever(vector_store, embedder, candidate_k=settings.candidate_k,
                                          per_document=settings.max_passages_per_document,
                                          mode=settings.retrieval_mode)
                          if vector_store is not None and embedder is not None else None)
        self.data = DataSource(settings.data_dir)
        self.background_refresh = background_refresh
        self._lock = threading.Lock()
        self._refreshing = False
        self._services = self._build(self.data.load(), None)

    @classmethod
    def open(cls, settings: Settings, *, with_vectors: bool = True, background_refresh: bool = False,
             generator: Generator | None = None) -> "CasePilot":
        """The providers the settings name; ``with_vectors=False`` opens the reference data only (exact answers,
        no passages: no model is loaded and the vector store is left free for a writer)."""
        embedder = make_embedder(settings) if with_vectors else None
        vector_store = make_vector_store(settings) if with_vectors else None
        return cls(settings, embedder=embedder, vector_store=vector_store,
                   generator=generator or make_generator(settings), background_refresh=background_refresh)

    # ------------------------------------------------------------ the current bundle

    def services(self) -> Services:
        """The services over the data as it is now (one catalog ``stat`` when nothing changed)."""
        current = self._services
        if self.data.changed(current.snapshot):
            if self.background_refresh:
                self._refresh_in_background(current)
            else:
                with self._lock:
                    if self._services is current:
                        self._services = self._build(self.data.load(current.snapshot), current)
                current = self._services
        return current

    def _refresh_in_background(self, current: Services) -> None:
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True

        def refresh() -> None:
            try:
                services = self._build(self.data.load(current.snapshot), current)
                services.warm()
                self._services = services
                log.info("data version %s is serving: %s", services.version,
                         ", ".join(f"{n} {r.version}" for n, r in sorted(services.snapshot.reference.releases().items())))
            except Exception:  # the previous snapshot keeps serving; the next request tries again
                log.exception("the new data release could not be opened")
            finally:
                with self._lock:
                    self._refreshing = False

        threading.Thread(target=refresh, name="casepilot-refresh", daemon=True).start()

    def _build(self, snapshot: DataSnapshot, previous: Services | None) -> Services:
        retriever = self.retriever.bound(snapshot.passages) if self.retriever is not None else None
        search = CodeSearch(snapshot.reference, retriever, carry_from=previous.search if previous else None)
        query = QueryService(self.settings, snapshot.reference, retriever, self.generator, code_search=search)
        pages = CodePages(snapshot.reference, retriever, query.check)
        claims = ClaimChecker(snapshot.reference, query.check)
        return Services(snapshot, query, pages, claims, search)

    # ------------------------------------------------------------ lifecycle

    def warm(self) -> None:
        self.services().warm()

    def ready(self) -> bool:
        return self.services().query.ready()

    def close(self) -> None:
        self._services.snapshot.reference.close()
        if self.vector_store is not None:
            self.vector_store.close()
