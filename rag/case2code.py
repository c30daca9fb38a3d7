"""Case2Code: find codes from a code, a typo'd code, a descriptor or lay words, across all code sets.

Lexical half: SQLite FTS5 (BM25) over every descriptor, with unknown words corrected against the index's
own vocabulary. Semantic half: dense search over code passages. The two rankings are fused (RRF).
"""

from __future__ import annotations

import re
import threading
from typing import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from rag.answer import CodeHit
from rag.codes import recognize
from rag.exact import check_code, describe
from rag.retrieve import HybridRetriever
from rag.stores.reference import ReferenceStore

WORD = re.compile(r"[A-Za-z0-9]+")
RRF_K = 60
FTS_STOP = {"and", "or", "not", "near", "the", "of", "a", "an", "for", "with", "to", "in", "on", "by", "per"}


class CodeSearch:
    def __init__(self, store: ReferenceStore, retriever: HybridRetriever | None = None):
        self.store, self.retriever = store, retriever
        self._lock = threading.Lock()
        self._vocabulary: list[str] | None = None
        self._codes: dict[int, list[str]] | None = None

    # ------------------------------------------------------------ lazily built indexes

    def _vocab(self) -> list[str]:
        with self._lock:
            if self._vocabulary is None:
                self._vocabulary = sorted(self.store.vocabulary())
            return self._vocabulary

    def _codes_by_length(self) -> dict[int, list[str]]:
        with self._lock:
            if self._codes is None:
                grouped: dict[int, list[str]] = {}
                for code in sorted(self.store.all_code_strings()):
                    grouped.setdefault(len(code.replace(".", "")), []).append(code)
                self._codes = grouped
            return self._codes

    def invalidate(self) -> None:
        with self._lock:
            self._vocabulary = self._codes = None

    # ------------------------------------------------------------ suggestions for unknown codes

    def closest_codes(self, code: str, limit: int = 5) -> list[str]:
        """Valid codes one or two edits away (a transposed or mistyped digit), nearest first."""
        code = code.upper().replace(".", "")
        same_shape = self._codes_by_length().get(len(code), [])
        found = process.extract(code, same_shape, scorer=Levenshtein.distance, score_cutoff=2, limit=limit * 4,
                                processor=lambda c: c.replace(".", ""))
        return [c for c, _, _ in sorted(found, key=lambda item: (item[1], item[0]))][:limit]

    # ------------------------------------------------------------ text search

    def _correct(self, words: list[str]) -> list[str]:
        vocab = self._vocab()
        known = set(vocab)
        corrected = []
        for word in words:
            lower = word.lower()
            if lower in known or len(lower) < 4 or lower.isdigit() or self.store.search_descriptors(f'"{lower}"', 1):
                corrected.append(lower)
                continue
            match = process.extractOne(lower, vocab, scorer=fuzz.ratio, score_cutoff=80)
            corrected.append(match[0] if match else lower)
        return corrected

    def lexical(self, text: str, limit: int, code_sets: Sequence[str] | None = None):
        words = [w for w in WORD.findall(text) if w.lower() not in FTS_STOP]
        if not words:
            return []
        words = self._correct(words)
        match = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
        return self.store.search_descriptors(match, limit, code_sets)

    def search(self, query: str, limit: int = 10, code_sets: Sequence[str] | None = None,
               semantic: bool = True) -> list[CodeHit]:
        query = query.strip()
        hits: dict[str, CodeHit] = {}
        for mention in recognize(query).codes:
            check = check_code(self.store, mention.code, mention.code_set)
            if check.status != "unknown":
                hits[check.code] = CodeHit(code=check.code, code_set=check.code_set, description=check.description,
                                           score=1.0, status=check.status, source="exact")
        scores: dict[str, float] = {}
        records: dict[str, CodeHit] = {}
        for rank, (sourced, _) in enumerate(self.lexical(query, limit * 3, code_sets)):
            record = sourced.fact
            scores[record.code] = scores.get(record.code, 0.0) + 1 / (RRF_K + rank)
            records.setdefault(record.code, CodeHit(
                code=record.code, code_set=record.code_set, description=describe(record)[:200], score=0.0,
                status="deleted" if record.termination_date else "valid", source=sourced.release.dataset))
        if semantic and self.retriever is not None and len(query) > 3:
            retrieved = self.retriever.retrieve(query, limit=limit * 2, kinds=["code"], mode="dense")
            for rank, hit in enumerate(retrieved.hits):
                code = hit.passage.codes[0] if hit.passage.codes else None
                if code and (code_sets is None or hit.passage.doc_id.split(":")[0] in code_sets):
                    scores[code] = scores.get(code, 0.0) + 1 / (RRF_K + rank)
                    records.setdefault(code, CodeHit(code=code, code_set=hit.passage.doc_id.split(":")[0],
                                                     description=hit.passage.text[:200], score=0.0,
                                                     source=hit.passage.source))
        ranked = sorted(scores, key=lambda c: (-scores[c], records[c].status != "valid"))
        for code in ranked:
            if code not in hits:
                hits[code] = records[code].model_copy(update={"score": round(scores[code], 5)})
        return list(hits.values())[:limit]
