"""Citation QA: build the answer's sentences from facts and passages, each ending in its markers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

from rag.answer import Alternative, Citation, SeeAlso, Sentence
from rag.codes import codes_in
from rag.exact import Fact
from rag.relevance import Topic, near_duplicate, stands_alone
from rag.stores.vectors import Hit
from rag.text import STOPWORDS, bigrams, profile, stem, terms  # noqa: F401  (re-exported for callers of rag.compose)

# A sentence ends at . ! ? before a capital, digit or bracket, but not after an abbreviation ("Pub. 100-04").
ABBREVIATIONS = ("Pub", "No", "Nos", "Ch", "Sec", "vs", "Vol", "Rev", "Dr", "approx", "e.g", "i.e", "U.S", "Fig")
SENTENCE_END = re.compile("".join(rf"(?<!\b{re.escape(a)}\.)" for a in ABBREVIATIONS)
                          + r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
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


MARKDOWN = re.compile(r"\*\*|__|`|^#+\s*", re.M)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")
MIN_UNIT_CHARS = 20


@dataclass(frozen=True)
class Unit:
    """A sentence of a passage, or one list item, with where it stood."""

    text: str
    index: int
    paragraph: int
    list_item: bool = False


@lru_cache(maxsize=4096)
def passage_units(text: str) -> tuple[Unit, ...]:
    """The passage's units, parsed once per distinct text (the composer reads a passage several times)."""
    units: list[Unit] = []
    paragraph = 0
    for line in MARKDOWN.sub("", text).splitlines():
        if not line.strip():
            paragraph += 1
            continue
        item = bool(LIST_ITEM.match(line))
        body = LIST_ITEM.sub("", line)
        for piece in SENTENCE_END.split(body):
            if len(piece.strip()) > MIN_UNIT_CHARS:
                units.append(Unit(piece.strip(), len(units), paragraph, item))
        if item:
            continue
        if body.rstrip().endswith(":"):
            paragraph += 1  # the list that follows is a paragraph of its own
    return tuple(units)


def split_sentences(text: str) -> list[str]:
    """Sentences of prose, and each markdown list item or line as its own unit."""
    return [unit.text for unit in passage_units(text)]


MAX_SUPPORTING = 3  # supporting sentences after the direct answer
SUPPORTING_WITH_FACTS = 2  # passage sentences after exact facts
MAX_SEE_ALSO = 3
OPENING_BONUS = 3.0
NAMED_NUMBER_BONUS = 0.2  # the section naming the CARC, POS or indicator number asked about (more in its heading)
# "What is an MUE?" is answered by the section that defines it ("What an MUE is"), not by one that mentions it more.
DEFINITION_QUESTION = re.compile(r"^\s*(?:what(?:'s| is| are)\s+(?:an?\s+|the\s+)?\S|what does .+ mean\b)", re.I)
DEFINITION_HEADING = re.compile(r"^\s*what\s+(?:an?\s+|the\s+)?.+\s+(?:is|are|means?)\b", re.I)
DEFINITION_BONUS = 0.1
CODE_KINDS = {"code", "modifier"}


@dataclass
class Composed:
    sentences: list[Sentence]
    see_also: list[SeeAlso] = field(default_factory=list)


def _overlap(question: str, sentence: str, codes: Sequence[str]) -> float:
    (wanted, pairs), (found, found_pairs) = profile(question), profile(sentence)
    return len(wanted & found) + len(pairs & found_pairs) + sum(2 for code in codes if code in sentence)


def best_sentences(question: str, text: str, codes: Sequence[str], count: int) -> list[str]:
    """The passage's sentences most about the question that stand alone, kept in their original order."""
    units = [u for u in passage_units(text) if stands_alone(u.text)]
    ranked = sorted(units, key=lambda u: (-(_overlap(question, u.text, codes) - u.index * 0.05), u.index))
    chosen = [u for u in ranked[:count] if _overlap(question, u.text, codes) > 0] or ranked[:1]
    return [u.text for u in sorted(chosen, key=lambda u: u.index)]


def _heading(hit: Hit) -> str:
    return hit.passage.section or hit.passage.title


def _lead_unit(hit: Hit, question: str, codes: Sequence[str]) -> Unit | None:
    """The sentence a passage answers with: a guideline section opens with its direct answer (the corpus is
    written so), a code passage with its descriptor; any other source with its sentence nearest the question."""
    units = [u for u in passage_units(hit.passage.text) if stands_alone(u.text)]
    if not units:
        return None
    if hit.passage.kind in CODE_KINDS or hit.passage.section:
        named = _named_numbers(question)
        if named and not named & _numbers(units[0].text):  # "What does CARC 151 mean?": the 151 sentence
            naming = [u for u in units if named & _numbers(u.text)]
            if naming:
                return naming[0]
        return units[0]
    return max(units, key=lambda u: (_overlap(question, u.text, codes) - u.index * 0.05, -u.index))


NUMBER = re.compile(r"(?<![\w.])\d{2,5}(?![\w.])")


def _numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


LABELLED_NUMBER = re.compile(r"\b(indicator|mai|type|level|category|tier)\s+(\d{1,3}|[a-z]{3})\b", re.I)


def _labelled(text: str) -> set[str]:
    """Small numbers that only mean something with their label: "indicator 9", "MAI 3", "type 2"."""
    return {f"{label.lower()} {value.lower()}" for label, value in LABELLED_NUMBER.findall(text)}


def _named_numbers(question: str) -> set[str]:
    """Numbers a question asks about that are not codes (a CARC, a POS, an NCD section number's parts)."""
    return _numbers(question) - set(codes_in(question))


def _supporting(question: str, hit: Hit, topic: Topic, codes: Sequence[str], skip: Unit | None,
                lead_passage: bool) -> list[tuple[float, Unit]]:
    """Candidate sentences of a passage with their scores: each stands alone and is about the question (in the
    lead passage, its first paragraph is about the section's question as a whole)."""
    found = []
    for unit in passage_units(hit.passage.text):
        if skip is not None and unit.index == skip.index:
            continue
        if not stands_alone(unit.text):
            continue
        about = topic.sentence_is_about(unit.text) or (lead_passage and unit.paragraph == 0)
        if not about:
            continue
        found.append((_overlap(question, unit.text, codes) - unit.index * 0.05, unit))
    return found


def compose_extractive(question: str, facts: Sequence[Fact], hits: Sequence[Hit], codes: Sequence[str],
                       book: CitationBook) -> Composed:
    """The direct answer first, then at most three supporting sentences, each about the question and cited.

    Exact facts answer first when there are any (each cites its reference row). Otherwise the passage most
    about the question answers with its opening sentence. Supporting sentences come from the passages about the
    question only; other relevant passages are named in "see also", never pasted."""
    sentences = [Sentence(text=fact.text, citations=list(dict.fromkeys(book.cite(c) for c in (fact.citation,
                                                                                             *fact.also))))
                 for fact in facts]
    topic = Topic.of(question, codes)
    best = max((h.similarity for h in hits), default=0.0)
    relevant = [h for h in hits if h.similarity >= best - RELEVANCE_MARGIN]
    # The topic decides what is quoted; similarity only orders. A passage about the question but well below the
    # best one in similarity still answers when nothing closer is about it.
    about = [h for h in hits if topic.passage_is_about(f"{h.passage.title} {h.passage.section} {h.passage.text}")]
    if any(h in relevant for h in about):
        about = [h for h in about if h in relevant]
    named = _named_numbers(question)
    defines = bool(DEFINITION_QUESTION.search(question))
    labelled = _labelled(question)
    about.sort(key=lambda h: -(h.similarity + 0.15 * _heading_share(topic, h)
                               + NAMED_NUMBER_BONUS * bool(named & _numbers(h.passage.text))
                               + NAMED_NUMBER_BONUS * bool(labelled & _labelled(_heading(h)))
                               + DEFINITION_BONUS * (defines and bool(DEFINITION_HEADING.match(_heading(h))))))
    quoted: list[Hit] = []
    lead: Unit | None = None
    if not facts and about:
        lead_hit = about[0]
        lead = _lead_unit(lead_hit, question, codes)
        if lead is not None:
            sentences.append(Sentence(text=lead.text, citations=[book.cite(passage_citation(lead_hit))]))
            quoted.append(lead_hit)
    budget = SUPPORTING_WITH_FACTS if facts else MAX_SUPPORTING
    candidates: list[tuple[float, int, Unit, Hit]] = []
    # With a lead section, its own sentences support it (the corpus answers one question per section); after
    # exact facts, the passages most about the question do.
    sources = quoted[:1] if quoted else about[:SUPPORTING_WITH_FACTS]
    for rank, hit in enumerate(sources):
        is_lead = bool(quoted) and hit is quoted[0]
        if facts and hit.passage.kind in CODE_KINDS:
            continue  # the exact facts already name the codes; a code passage after them repeats or strays
        if hit.passage.kind in CODE_KINDS and not is_lead:
            descriptor = _lead_unit(hit, question, codes)
            if descriptor is not None and topic.sentence_is_about(descriptor.text):
                candidates.append((_overlap(question, descriptor.text, codes), rank, descriptor, hit))
            continue
        skip = lead if is_lead else None
        for score, unit in _supporting(question, hit, topic, codes, skip, is_lead):
            if not facts or topic.sentence_is_about(unit.text):
                opens_section = unit.index == 0 and bool(hit.passage.section)  # the section's direct answer
                candidates.append((score + OPENING_BONUS * opens_section - rank * 0.5, rank, unit, hit))
    chosen: list[tuple[int, Unit, Hit]] = []
    kept_texts = [s.text for s in sentences]
    for _score, rank, unit, hit in sorted(candidates, key=lambda c: (-c[0], c[1], c[2].index)):
        if len(chosen) >= budget:
            break
        if near_duplicate(unit.text, kept_texts):
            continue
        chosen.append((rank, unit, hit))
        kept_texts.append(unit.text)
    for _rank, unit, hit in sorted(chosen, key=lambda c: (c[0], c[1].index)):
        sentences.append(Sentence(text=unit.text, citations=[book.cite(passage_citation(hit))]))
        if hit not in quoted:
            quoted.append(hit)
    return Composed(sentences, _see_also(about, quoted))


def _heading_share(topic: Topic, hit: Hit) -> float:
    if not topic.subject:
        return 0.0
    return topic.matches(_heading(hit)) / len(topic.subject)


def _see_also(hits: Sequence[Hit], quoted: Sequence[Hit]) -> list[SeeAlso]:
    """Titles of the relevant sections not quoted (a reader opens them; the answer does not paste them)."""
    shown = {(h.passage.source, _heading(h)) for h in quoted}
    found: list[SeeAlso] = []
    for hit in hits:
        key = (hit.passage.source, _heading(hit))
        if key in shown or hit.passage.kind in CODE_KINDS:
            continue
        shown.add(key)
        citation = passage_citation(hit)
        found.append(SeeAlso(title=_heading(hit), source=citation.source, version=citation.version,
                             locator=citation.locator, url=citation.url))
        if len(found) >= MAX_SEE_ALSO:
            break
    return found


def render(sentences: Sequence[Sentence], see_also: Sequence[SeeAlso] = (),
           alternatives: Sequence[Alternative] = ()) -> str:
    text = " ".join(f"{s.text.rstrip()} {''.join(f'[{m}]' for m in s.citations)}".strip() for s in sentences)
    if alternatives:
        text += "\nCompare: " + "; ".join(f"{a.code} ({a.differs}) [{a.citation}]" for a in alternatives) + "."
    if see_also:
        text += "\nSee also: " + "; ".join(item.title for item in see_also) + "."
    return text


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
