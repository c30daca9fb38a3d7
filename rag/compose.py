"""Citation QA: build the answer's sentences from facts and passages, each ending in its markers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from rag.answer import Citation, Sentence
from rag.exact import Fact
from rag.stores.vectors import Hit

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = set("""a an and are as at be by can do does for from how i in is it of on or should the to was what
when where which who will with you your my we our this that these those there their if not no yes may""".split())
PASSAGE_SENTENCES = 2
MAX_PASSAGES_IN_ANSWER = 3
RELEVANCE_MARGIN = 0.12  # passages much less similar than the best one are not quoted


def passage_citation(hit: Hit) -> Citation:
    p = hit.passage
    locator = f"page {p.page}" if p.page else (f"section {p.section}" if p.section else p.doc_id)
    return Citation(marker=0, kind="passage", source=p.source, title=p.title, version=p.edition or p.version,
                    locator=locator, url=p.url, snippet=p.text[:400], score=round(hit.score, 4),
                    codes=list(p.codes))


@dataclass
class CitationBook:
    """Numbers citations in order of first use; the same source cited twice keeps one number."""

    citations: list[Citation] = field(default_factory=list)
    _keys: dict[tuple, int] = field(default_factory=dict)

    def cite(self, citation: Citation) -> int:
        key = (citation.kind, citation.source, citation.version, citation.locator, citation.title)
        if key not in self._keys:
            marker = len(self.citations) + 1
            self._keys[key] = marker
            self.citations.append(citation.model_copy(update={"marker": marker}))
        return self._keys[key]


def terms(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


MARKDOWN = re.compile(r"\*\*|__|`|^\s*(?:[-*+]|\d+\.)\s+|^#+\s*", re.M)


def split_sentences(text: str) -> list[str]:
    """Sentences of prose, and each markdown list item or line as its own unit."""
    units = []
    for line in MARKDOWN.sub("", text).splitlines():
        units += [s.strip() for s in SENTENCE_END.split(line) if len(s.strip()) > 20]
    return units


def best_sentences(question: str, text: str, codes: Sequence[str], count: int) -> list[str]:
    """The passage's sentences most about the question, kept in their original order."""
    wanted = terms(question)
    sentences = split_sentences(text)
    scored = []
    for index, sentence in enumerate(sentences):
        overlap = len(wanted & terms(sentence))
        code_bonus = sum(2 for code in codes if code in sentence)
        scored.append((overlap + code_bonus - index * 0.05, index, sentence))
    ranked = sorted(scored, reverse=True)
    chosen = sorted([item for item in ranked[:count] if item[0] > 0] or ranked[:1], key=lambda item: item[1])
    return [sentence for _, _, sentence in chosen]


def compose_extractive(question: str, facts: Sequence[Fact], hits: Sequence[Hit], codes: Sequence[str],
                       book: CitationBook) -> list[Sentence]:
    sentences = [Sentence(text=fact.text, citations=[book.cite(fact.citation)]) for fact in facts]
    passage_budget = MAX_PASSAGES_IN_ANSWER if not facts else 2
    best = max((h.similarity for h in hits), default=0.0)
    relevant = [h for h in hits if h.similarity >= best - RELEVANCE_MARGIN]
    for hit in relevant[:passage_budget]:
        marker = book.cite(passage_citation(hit))
        for text in best_sentences(question, hit.passage.text, codes, PASSAGE_SENTENCES):
            sentences.append(Sentence(text=text, citations=[marker]))
    return sentences


def render(sentences: Sequence[Sentence]) -> str:
    return " ".join(f"{s.text.rstrip()} {''.join(f'[{m}]' for m in s.citations)}".strip() for s in sentences)
