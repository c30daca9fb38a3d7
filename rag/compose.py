"""Citation QA: build the answer's sentences from facts and passages, each ending in its markers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from rag.answer import Citation, Sentence
from rag.codes import codes_in
from rag.exact import Fact
from rag.stores.vectors import Hit
from rag.text import STOPWORDS, bigrams, stem, terms  # noqa: F401  (re-exported for callers of rag.compose)

# A sentence ends at . ! ? before a capital, digit or bracket, but not after an abbreviation ("Pub. 100-04").
ABBREVIATIONS = ("Pub", "No", "Nos", "Ch", "Sec", "vs", "Vol", "Rev", "Dr", "approx", "e.g", "i.e", "U.S", "Fig")
SENTENCE_END = re.compile("".join(rf"(?<!\b{re.escape(a)}\.)" for a in ABBREVIATIONS)
                          + r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
PASSAGE_SENTENCES = 2
MAX_PASSAGES_IN_ANSWER = 3
RELEVANCE_MARGIN = 0.12  # passages much less similar than the best one are not quoted


def passage_citation(hit: Hit) -> Citation:
    """The citation of a passage. Its codes are every code the passage's own text names (read again here, with
    today's recognizer) plus the codes ingest tagged it with, so a quoted sentence is grounded in its source."""
    p = hit.passage
    locator = f"page {p.page}" if p.page else (f"section {p.section}" if p.section else p.doc_id)
    return Citation(marker=0, kind="passage", source=p.source, title=p.title, version=p.edition or p.version,
                    locator=locator, url=p.url, snippet=p.text[:400], score=round(hit.score, 4),
                    codes=list(dict.fromkeys([*p.codes, *codes_in(p.text)])))


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
        else:  # another chunk of the same section: its codes ground the sentences quoted from it too
            stored = self.citations[self._keys[key] - 1]
            stored.codes = list(dict.fromkeys([*stored.codes, *citation.codes]))
        return self._keys[key]


MARKDOWN = re.compile(r"\*\*|__|`|^\s*(?:[-*+]|\d+\.)\s+|^#+\s*", re.M)


def split_sentences(text: str) -> list[str]:
    """Sentences of prose, and each markdown list item or line as its own unit."""
    units = []
    for line in MARKDOWN.sub("", text).splitlines():
        units += [s.strip() for s in SENTENCE_END.split(line) if len(s.strip()) > 20]
    return units


def best_sentences(question: str, text: str, codes: Sequence[str], count: int) -> list[str]:
    """The passage's sentences most about the question, kept in their original order."""
    wanted, pairs = terms(question), bigrams(question)
    sentences = split_sentences(text)
    scored = []
    for index, sentence in enumerate(sentences):
        overlap = len(wanted & terms(sentence)) + len(pairs & bigrams(sentence))
        code_bonus = sum(2 for code in codes if code in sentence)
        scored.append((overlap + code_bonus - index * 0.05, index, sentence))
    ranked = sorted(scored, reverse=True)
    chosen = sorted(index for _, index, _ in ([item for item in ranked[:count] if item[0] > 0] or ranked[:1]))
    picked: list[int] = []
    for index in chosen:
        picked.append(index)
        if sentences[index].rstrip().endswith(":"):  # a lead-in ("The package includes:") brings its list
            picked += list(range(index + 1, min(index + 1 + LEAD_IN_ITEMS, len(sentences))))
    return [sentences[index] for index in dict.fromkeys(picked)]


LEAD_IN_ITEMS = 4


CODE_KINDS = {"code", "modifier"}


def _first_unit(text: str) -> str:
    units = split_sentences(text)
    return units[0] if units else text.strip()


def compose_extractive(question: str, facts: Sequence[Fact], hits: Sequence[Hit], codes: Sequence[str],
                       book: CitationBook) -> list[Sentence]:
    """Facts first (each cites its reference row), then the best sentences of the most relevant passages.

    A code or modifier passage opens with its descriptor, and that first sentence is the one quoted; from a
    guidance passage, the sentences sharing most words with the question."""
    sentences = [Sentence(text=fact.text, citations=[book.cite(fact.citation)]) for fact in facts]
    passage_budget = MAX_PASSAGES_IN_ANSWER if not facts else 2
    best = max((h.similarity for h in hits), default=0.0)
    relevant = [h for h in hits if h.similarity >= best - RELEVANCE_MARGIN]
    for hit in relevant[:passage_budget]:
        marker = book.cite(passage_citation(hit))
        if hit.passage.kind in CODE_KINDS:
            chosen = [_first_unit(hit.passage.text)]
        else:
            chosen = best_sentences(question, hit.passage.text, codes, PASSAGE_SENTENCES)
        for text in chosen:
            sentences.append(Sentence(text=text, citations=[marker]))
    return sentences


def render(sentences: Sequence[Sentence]) -> str:
    return " ".join(f"{s.text.rstrip()} {''.join(f'[{m}]' for m in s.citations)}".strip() for s in sentences)


# ---------------------------------------------------------------- generated text (LLM path)

SENTENCE_BOUNDARY = re.compile(r"(?<=[.!?])(?:\s*\[\d+\])*\s+(?=[A-Z0-9(\"'])|\n+")
MIN_SUPPORT = 0.5  # share of a generated sentence's content words that its source must contain


def last_sentence_end(text: str) -> int:
    """Where the last complete sentence of a growing text ends (0 while none is complete)."""
    ends = [m.end() for m in SENTENCE_BOUNDARY.finditer(text)]
    return ends[-1] if ends else 0


def attribute_citations(sentences: Sequence[Sentence], citations: Sequence[Citation],
                        drafts: Sequence[Sentence] = ()) -> list[Sentence]:
    """Keep only generated sentences that rest on a source. A sentence that cites nothing is given the source
    that holds most of its content words (at least MIN_SUPPORT of them); one that no source supports is dropped,
    so every sentence shown carries a citation. ``drafts`` (the extractive sentences the model was shown) add
    their text to the source they cite."""
    sources = {c.marker: f"{c.title} {c.snippet}" for c in citations}
    for draft in drafts:
        for marker in draft.citations:
            if marker in sources:
                sources[marker] += " " + draft.text
    source_terms = {marker: terms(text) for marker, text in sources.items()}
    kept, seen = [], set()
    for sentence in sentences:
        key = " ".join(sentence.text.lower().split())
        if key in seen:  # small models repeat themselves
            continue
        seen.add(key)
        cited = [m for m in sentence.citations if m in sources]
        if not cited:
            wanted = terms(sentence.text)
            if not wanted:
                continue
            best, support = max(((m, len(wanted & t) / len(wanted)) for m, t in source_terms.items()),
                                key=lambda item: item[1], default=(0, 0.0))
            if support < MIN_SUPPORT:
                continue
            cited = [best]
        kept.append(sentence.model_copy(update={"citations": cited}))
    return kept
