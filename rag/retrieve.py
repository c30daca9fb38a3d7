"""Hybrid passage retrieval: dense + BM25 fused by RRF in Qdrant, codes as a boost, then diversity."""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field
from typing import Sequence

from rag.providers.embedding import Embedder
from rag.providers.sparse import Bm25Encoder
from rag.stores.catalog import Catalog
from rag.stores.schema import Release, release_key
from rag.stores.vectors import RRF_K, Hit, SearchMode, VectorQuery, VectorStore
from rag.text import bigrams, profile, terms


@dataclass
class Retrieved:
    hits: list[Hit]
    embed_ms: float = 0.0
    search_ms: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


LEXICAL_WEIGHT = float(os.environ.get("CASEPILOT_LEXICAL_WEIGHT", "0.003"))


def lexical_rerank(question: str, hits: Sequence[Hit], weight: float = LEXICAL_WEIGHT) -> list[Hit]:
    """Reorder the fused candidates by their fused rank plus a word-overlap score with the question.

    The fused list ranks whole chunks; a long document's definition chunk can sit below two of its other chunks
    and then lose its slot to the per-document cap. Overlap counts the question's content words (stemmed) and
    its word pairs ("medically unlikely", "modifier indicator") found in the chunk's heading and text."""
    wanted, pairs = terms(question), bigrams(question)
    if not wanted or weight <= 0:
        return list(hits)
    scored = []
    for rank, hit in enumerate(hits):
        passage_terms, passage_pairs = profile(f"{hit.passage.section} {hit.passage.text}")
        overlap = len(wanted & passage_terms) / len(wanted)
        phrase = len(pairs & passage_pairs) / len(pairs) if pairs else 0.0
        scored.append((1 / (RRF_K + rank) + weight * (overlap + phrase), -rank, hit))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [hit for _, _, hit in scored]


def diversify(hits: Sequence[Hit], limit: int, per_document: int) -> list[Hit]:
    """Keep rank order but cap passages per document, so one long document cannot fill every slot."""
    kept: list[Hit] = []
    per_doc: dict[tuple[str, str], int] = {}
    for hit in hits:
        key = (hit.passage.source, hit.passage.doc_id)
        if per_doc.get(key, 0) >= per_document:
            continue
        per_doc[key] = per_doc.get(key, 0) + 1
        kept.append(hit)
        if len(kept) == limit:
            break
    return kept


class HybridRetriever:
    """Searches the passage releases it is bound to (``bound``: a data snapshot's), or, built over a catalog
    and used on its own, the catalog's active ones."""

    def __init__(self, store: VectorStore, embedder: Embedder, catalog: Catalog | None = None, *,
                 candidate_k: int = 30, per_document: int = 2, mode: SearchMode = "hybrid",
                 lexical_weight: float | None = None):
        self.store, self.embedder, self.catalog = store, embedder, catalog
        self.lexical_weight = LEXICAL_WEIGHT if lexical_weight is None else lexical_weight
        self.sparse = Bm25Encoder()
        self.candidate_k, self.per_document, self.mode = candidate_k, per_document, mode
        self._releases: dict[str, Release] | None = None

    def bound(self, releases: dict[str, Release]) -> "HybridRetriever":
        """The same engine and models, searching exactly ``releases`` (passage source -> release)."""
        bound = copy.copy(self)
        bound.catalog, bound._releases = None, dict(releases)
        return bound

    def _active(self) -> dict[str, Release]:
        return self.catalog.active("passages") if self.catalog is not None else (self._releases or {})

    def active_releases(self) -> list[str]:
        """The release keys searched (what the vector store's points are filtered on)."""
        return [release_key(name, r.version) for name, r in sorted(self._active().items())]

    def sources(self) -> set[str]:
        """The passage sources searched (guidelines, cpt, hcpcs ...)."""
        return set(self._active())

    def retrieve(self, question: str, *, limit: int = 5, boost_codes: Sequence[str] = (),
                 kinds: Sequence[str] | None = None, mode: SearchMode | None = None) -> Retrieved:
        mode = mode or self.mode
        started = time.perf_counter()
        dense = self.embedder.embed_query(question) if mode != "sparse" else None
        sparse = self.sparse.query(question) if mode != "dense" else None
        embedded = time.perf_counter()
        hits = self.store.search(VectorQuery(
            dense=dense, sparse=sparse, limit=max(self.candidate_k, limit), candidate_k=self.candidate_k,
            releases=self.active_releases(), boost_codes=list(boost_codes), kinds=kinds, mode=mode))
        searched = time.perf_counter()
        if mode == "hybrid" and self.lexical_weight > 0:
            hits = lexical_rerank(question, hits, self.lexical_weight)
        reranked = time.perf_counter()
        return Retrieved(diversify(hits, limit, self.per_document), embed_ms=(embedded - started) * 1000,
                         search_ms=(searched - embedded) * 1000, timings={"rerank_ms": (reranked - searched) * 1000})
