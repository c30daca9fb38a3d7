"""The query service: question in, grounded and cited answer out.

understand -> exact facts from the reference store -> (only if needed) hybrid retrieval -> compose
(extractive, or an LLM) -> code guard -> answer. Exact questions never pay for a query embedding.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Iterator, Literal, Sequence

from rag.answer import Answer, Citation, CodeCheck, Sentence
from rag.case2code import CodeSearch
from rag.compose import CitationBook, attribute_citations, compose_extractive, last_sentence_end, render
from rag.coverage import CoverageFinder
from rag.exact import (ExactResult, Fact, check_code, code_facts, listing_facts, modifier_facts, mue_facts,
                       pair_facts, reference_citation)
from rag.guard import Guarded, guard_codes
from rag.intents import Understood, understand
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.stores.reference import ReferenceStore

log = logging.getLogger(__name__)

RETRIEVAL_INTENTS = {"modifier", "coverage", "guideline", "open"}
GeneratorName = Literal["extractive", "llm"]


class QuestionError(ValueError):
    """A question that cannot be answered as sent (empty, too long)."""


def clean_question(question: str, max_chars: int) -> str:
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in question)
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(text)} characters; the limit is {max_chars}")
    return text


@dataclass
class Evidence:
    understood: Understood
    facts: list[Fact]
    exact: ExactResult
    checks: dict[str, CodeCheck]
    hits: list
    timings: dict[str, float]
    service_date: int | None
    suggested: dict[str, CodeCheck] = field(default_factory=dict)  # "Did you mean" codes, checked too


class QueryService:
    def __init__(self, settings: Settings, reference: ReferenceStore, retriever: HybridRetriever | None,
                 generator=None):
        self.settings, self.reference, self.retriever, self.generator = settings, reference, retriever, generator
        self.code_search = CodeSearch(reference, retriever)
        self.coverage = CoverageFinder(reference)

    @classmethod
    def from_settings(cls, settings: Settings) -> "QueryService":
        from rag.providers.embedding import SentenceTransformerEmbedder
        from rag.stores.catalog import Catalog
        from rag.stores.vectors import open_vector_store

        reference = ReferenceStore(settings.data_dir)
        embedder = SentenceTransformerEmbedder(settings.embedding_model, settings.embedding_batch_size,
                                               query_threads=settings.query_threads or None)
        retriever = HybridRetriever(open_vector_store(settings), embedder, Catalog(settings.data_dir),
                                    candidate_k=settings.candidate_k, per_document=settings.max_passages_per_document)
        return cls(settings, reference, retriever, make_generator(settings))

    def ready(self) -> bool:
        return self.reference.is_loaded() and self.retriever is not None and bool(self.retriever.active_releases())

    def close(self) -> None:
        self.reference.close()
        if self.retriever is not None:
            self.retriever.store.close()

    # ------------------------------------------------------------ evidence

    def check(self, code: str, code_set: str = "", suggest: bool = True) -> CodeCheck:
        result = check_code(self.reference, code, code_set)
        if result.status == "unknown" and suggest:
            result.suggestions = self.code_search.closest_codes(code)
        return result

    def gather(self, question: str, *, codes: Sequence[str] = (), top_k: int | None = None) -> Evidence:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        if self.reference.refresh():
            self.code_search.invalidate()
        understood = understand(" ".join([question, *codes]) if codes else question)
        recognized = understood.recognized
        checks: dict[str, CodeCheck] = {}
        for mention in recognized.codes:
            result = self.check(mention.code, mention.code_set, suggest=not mention.alternative)
            if result.status == "unknown" and mention.alternative:
                continue
            checks[mention.code] = result
        valid = [c for c, r in checks.items() if r.status != "unknown"]
        procedures = [c for c in understood.procedure_codes if c in valid]
        service_date = recognized.dates[0] if recognized.dates else None
        exact = ExactResult()
        facts: list[Fact] = []
        intents = understood.intents
        if "pair_check" in intents:
            exact = pair_facts(self.reference, procedures, service_date)
            facts += exact.facts
        if "units" in intents:
            units = mue_facts(self.reference, procedures, recognized.units)
            exact.mue, facts = units.mue, facts + units.facts
        if "modifier" in intents:
            facts += modifier_facts(self.reference, recognized.modifiers)
        if "coverage" in intents:  # the NCD, or the LCDs and articles (rag.coverage); policy ids are not codes
            coverage = self.coverage.find(question, valid)
            facts = coverage.facts + facts
            checks = {code: check for code, check in checks.items() if code not in coverage.not_codes}
        if "code_lookup" in intents or (valid and not facts):
            for code in valid:
                facts += code_facts(self.reference, code) or listing_facts(self.reference, code)
        timings["exact_ms"] = (time.perf_counter() - started) * 1000
        hits = []
        needs_retrieval = bool(set(intents) & RETRIEVAL_INTENTS) or not facts
        if checks and not valid:
            needs_retrieval = False  # every code named is unknown: the answer is "not found", whatever else
        if needs_retrieval and self.retriever is not None:
            retrieved = self.retriever.retrieve(question, limit=top_k or self.settings.top_k,
                                                boost_codes=valid + recognized.modifiers)
            hits = retrieved.hits
            timings["embed_ms"], timings["search_ms"] = retrieved.embed_ms, retrieved.search_ms
            timings.update(retrieved.timings)
        return Evidence(understood, facts, exact, checks, hits, timings, service_date)

    def _compose(self, question: str, evidence: Evidence, book: CitationBook) -> list[Sentence]:
        started = time.perf_counter()
        sentences = compose_extractive(question, evidence.facts, evidence.hits, list(evidence.checks), book)
        evidence.timings["compose_ms"] = (time.perf_counter() - started) * 1000
        return sentences

    def _weak(self, evidence: Evidence) -> bool:
        if evidence.checks and all(c.status == "unknown" for c in evidence.checks.values()):
            return True  # every code named does not exist: say so rather than answer around it
        if evidence.facts:
            return False
        asked_only_about_codes = set(evidence.understood.intents) <= {"code_lookup", "pair_check", "units"}
        if asked_only_about_codes and evidence.checks:
            return True  # the codes asked about do not exist: say so rather than answer about others
        best = max((h.similarity for h in evidence.hits), default=0.0)
        return best < self.settings.min_retrieval_score

    # ------------------------------------------------------------ answers

    def ask(self, question: str, *, codes: Sequence[str] = (), top_k: int | None = None,
            generator: GeneratorName = "extractive") -> Answer:
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        evidence = self.gather(question, codes=codes, top_k=top_k)
        book = CitationBook()
        if self._weak(evidence):
            return self._abstain(evidence, started, book)
        sentences = self._compose(question, evidence, book)
        used = "extractive"
        if generator == "llm" and self.generator is not None:
            llm_started = time.perf_counter()
            try:
                drafted = self.generator.generate(question, book.citations, sentences)
            except Exception as error:  # an unreachable or failing endpoint: the extractive answer still stands
                log.warning("LLM generator failed (%s): answering extractively", type(error).__name__)
                drafted = []
            evidence.timings["llm_ms"] = (time.perf_counter() - llm_started) * 1000
            accepted = attribute_citations(drafted, book.citations, sentences)
            if accepted:
                sentences, used = accepted, self.generator.name
        return self._finish(sentences, book, evidence, used, started)

    def _finish(self, sentences: list[Sentence], book: CitationBook, evidence: Evidence, generator: str,
                started: float, guarded: Guarded | None = None) -> Answer:
        """Guard the sentences (unless the caller already did), number the citations used, and build the answer."""
        guarded = guarded or guard_codes(sentences, book.citations, lambda code: self.check(code, suggest=False))
        if not guarded.sentences:
            return self._abstain(evidence, started, book)
        notes = self._not_found_notes(evidence, book)
        checks = {**guarded.checks, **evidence.checks, **evidence.suggested}
        sentences = notes + guarded.sentences
        used_markers = {m for s in sentences for m in s.citations}
        citations = [c for c in book.citations if c.marker in used_markers]
        evidence.timings["total_ms"] = (time.perf_counter() - started) * 1000
        return Answer(answer=render(sentences), sentences=sentences, citations=citations,
                      codes=list(checks.values()), intents=evidence.understood.intents,
                      removed_codes=guarded.removed, ptp=evidence.exact.ptp, mue=evidence.exact.mue,
                      generator=generator, timings_ms={k: round(v, 2) for k, v in evidence.timings.items()})

    def _not_found_notes(self, evidence: Evidence, book: CitationBook) -> list[Sentence]:
        """A note per unknown code; its "Did you mean" suggestions cite the rows they were read from."""
        notes = []
        for code, check in evidence.checks.items():
            if check.status != "unknown":
                continue
            markers, named = [], []
            for suggestion in check.suggestions[:3]:
                citation = self._code_citation(suggestion)
                if citation is not None:
                    markers.append(book.cite(citation))
                    named.append(suggestion)
                    evidence.suggested[suggestion] = self.check(suggestion, suggest=False)
            hint = f" Did you mean {_spoken_list(named)}?" if named else ""
            notes.append(Sentence(text=f"Code {code} was not found in the reference data "
                                       f"(CPT, HCPCS Level II, ICD-10-CM, NCCI tables).{hint}",
                                  citations=list(dict.fromkeys(markers))))
        return notes

    def _code_citation(self, code: str) -> Citation | None:
        facts = code_facts(self.reference, code)
        if facts:
            return facts[0].citation
        sourced = self.reference.in_ncci_tables(code)
        if sourced is not None:
            return reference_citation(sourced, f"{code} is listed in this table", None, (code,))
        return None

    def _abstain(self, evidence: Evidence, started: float, book: CitationBook | None = None) -> Answer:
        book = book or CitationBook()
        sentences = self._not_found_notes(evidence, book) or [Sentence(text=(
            "I could not find a reliable answer to this in CasePilot's reference sources, so I will not guess. "
            "Try naming the code, or check the official CMS or AMA source."))]
        used_markers = {m for s in sentences for m in s.citations}
        evidence.timings["total_ms"] = (time.perf_counter() - started) * 1000
        return Answer(answer=render(sentences), sentences=sentences,
                      citations=[c for c in book.citations if c.marker in used_markers],
                      codes=list({**evidence.checks, **evidence.suggested}.values()),
                      intents=evidence.understood.intents, abstained=True,
                      timings_ms={k: round(v, 2) for k, v in evidence.timings.items()})

    def stream(self, question: str, *, codes: Sequence[str] = (), top_k: int | None = None,
               generator: GeneratorName = "extractive") -> Iterator[tuple[str, dict]]:
        """Events for a streamed answer: ("sentence", ...) as each is ready (or ("token", ...) on the LLM path),
        then ("citations"), then ("done")."""
        if generator == "llm" and self.generator is not None:
            yield from self._stream_llm(question, codes, top_k)
            return
        answer = self.ask(question, codes=codes, top_k=top_k, generator="extractive")
        for sentence in answer.sentences:
            yield "sentence", sentence.model_dump()
        yield "citations", {"citations": [c.model_dump() for c in answer.citations]}
        yield "done", answer.model_dump(exclude={"sentences", "citations"})

    def _stream_llm(self, question: str, codes: Sequence[str], top_k: int | None) -> Iterator[tuple[str, dict]]:
        """Tokens are released a sentence at a time, after that sentence is attributed and guarded: a code the
        model invents never reaches the client, not even for a moment."""
        from rag.providers.llm import parse_sentences

        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        evidence = self.gather(question, codes=codes, top_k=top_k)
        book = CitationBook()
        if self._weak(evidence):
            answer = self._abstain(evidence, started, book)
        else:
            drafts = self._compose(question, evidence, book)
            markers = {c.marker for c in book.citations}
            check = lambda code: self.check(code, suggest=False)  # noqa: E731
            released = Guarded(sentences=[])
            llm_started = time.perf_counter()

            def release(text: str) -> Iterator[tuple[str, dict]]:
                accepted = attribute_citations(parse_sentences(text, markers), book.citations, drafts)
                guarded = guard_codes(accepted, book.citations, check)
                released.sentences += guarded.sentences
                released.removed += [c for c in guarded.removed if c not in released.removed]
                released.checks.update(guarded.checks)
                if guarded.sentences:
                    yield "token", {"text": render(guarded.sentences) + " "}

            pending = ""
            try:
                for token in self.generator.stream(question, book.citations, drafts):
                    pending += token
                    cut = last_sentence_end(pending)
                    if cut:
                        yield from release(pending[:cut])
                        pending = pending[cut:]
                if pending.strip():
                    yield from release(pending)
            except Exception as error:  # the endpoint failed mid-way: keep what was released, else extractive
                log.warning("LLM generator failed while streaming (%s)", type(error).__name__)
            evidence.timings["llm_ms"] = (time.perf_counter() - llm_started) * 1000
            if released.sentences:
                answer = self._finish(released.sentences, book, evidence, self.generator.name, started, released)
            else:
                answer = self._finish(drafts, book, evidence, "extractive", started)
                for sentence in answer.sentences:
                    yield "sentence", sentence.model_dump()
        yield "citations", {"citations": [c.model_dump() for c in answer.citations]}
        yield "done", answer.model_dump(exclude={"citations"})

    def search_codes(self, query: str, limit: int = 10, code_sets: Sequence[str] | None = None):
        return self.code_search.search(query, limit, code_sets)


def make_generator(settings: Settings):
    """The optional LLM generator the settings name (an OpenAI-compatible endpoint), or None."""
    if not settings.llm_base_url:
        return None
    from rag.providers.llm import OpenAICompatibleGenerator

    return OpenAICompatibleGenerator(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                                     settings.llm_timeout_s, settings.llm_max_tokens)


def _spoken_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def citation_text(citation: Citation) -> str:
    return f"[{citation.marker}] {citation.title}, {citation.version}, {citation.locator}. {citation.url}"
