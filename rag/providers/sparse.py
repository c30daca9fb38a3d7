"""BM25 sparse vectors: term frequencies per document, IDF applied by the Qdrant collection."""

from __future__ import annotations

from dataclasses import dataclass

from qdrant_edge import Bm25, Bm25Config


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


class Bm25Encoder:
    # Short passages: a code descriptor is ~20 tokens, a guideline section ~150.
    def __init__(self, avg_len: float = 60.0):
        self._model = Bm25(Bm25Config(avg_len=avg_len, language="english"))

    def document(self, text: str) -> SparseVector:
        vector = self._model.embed_document(text)
        return SparseVector(list(vector.indices), list(vector.values))

    def query(self, text: str) -> SparseVector:
        vector = self._model.embed_query(text)
        return SparseVector(list(vector.indices), list(vector.values))
