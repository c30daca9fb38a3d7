"""The query service: question in, grounded and cited answer out.

understand -> exact facts from the reference store -> (only if needed) hybrid retrieval -> compose
(extractive, or an LLM) -> code guard -> answer. Exact questions never pay for a query embedding.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import Iterator, Literal, Sequence

from rag.answer import Answer, Citation, CodeCheck, Sentence
from rag.case2code import CodeSearch
from rag.compose import CitationBook, compose_extractive, render
from rag.exact import ExactResult, Fact, check_code, code_facts, modifier_facts, mue_facts, pair_facts
from rag.guard import guard_codes
from rag.intents import Understood, understand
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.stores.reference import ReferenceStore

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


class QueryService:
    def __init__(self, settings: Settings, reference: ReferenceStore, retriever: HybridRetriever | None,
                 generator=None):
        self.settings, self.reference, self.retriever, self.generator = settings, reference, retriever, generator
        self.code_search = CodeSearch(reference, retriever)

    @classmethod
    def from_settings(cls, settings: Settings) -> "QueryService":
        from rag.providers.embedding import SentenceTransformerEmbedder
        from rag.stores.catalog import Catalog
        from rag.stores.vectors import open_vector_store

        reference = ReferenceStore(settings.data_dir)
        embedder = SentenceTransformerEmbedder(settings.embedding_model, settings.embedding_batch_size)
        retriever = HybridRetriever(open_vector_store(settings), embedder, Catalog(settings.data_dir),
                                    candidate_k=settings.candidate_k, per_document=settings.max_passages_per_document)
        generator = None
        if settings.llm_base_url:
            from rag.providers.llm import OpenAICompatibleGenerator

            generator = OpenAICompatibleGenerator(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                                                  settings.llm_timeout_s, settings.llm_max_tokens)
        return cls(settings, reference, retriever, generator)

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
        if "code_lookup" in intents or (valid and not facts):
            for code in valid:
                facts += code_facts(self.reference, code)
        timings["exact_ms"] = (time.perf_counter() - started) * 1000
        hits = []
        needs_retrieval = bool(set(intents) & RETRIEVAL_INTENTS) or not facts
        if needs_retrieval and self.retriever is not None:
            retrieved = self.retriever.retrieve(question, limit=top_k or self.settings.top_k,
                                                boost_codes=valid + recognized.modifiers)
            hits = retrieved.hits
            timings["embed_ms"], timings["search_ms"] = retrieved.embed_ms, retrieved.search_ms
        return Evidence(understood, facts, exact, checks, hits, timings, service_date)

    def _weak(self, evidence: Evidence) -> bool:
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
            return self._abstain(evidence, started)
        sentences = compose_extractive(question, evidence.facts, evidence.hits, list(evidence.checks), book)
        used = "extractive"
        if generator == "llm" and self.generator is not None:
            llm_started = time.perf_counter()
            sentences = self.generator.generate(question, book.citations, sentences) or sentences
            evidence.timings["llm_ms"] = (time.perf_counter() - llm_started) * 1000
            used = self.generator.name
        return self._finish(sentences, book, evidence, used, started)

    def _finish(self, sentences: list[Sentence], book: CitationBook, evidence: Evidence, generator: str,
                started: float) -> Answer:
        guarded = guard_codes(sentences, book.citations, lambda code: self.check(code))
        if not guarded.sentences:
            return self._abstain(evidence, started)
        checks = {**guarded.checks, **evidence.checks}
        used_markers = {m for s in guarded.sentences for m in s.citations}
        citations = [c for c in book.citations if c.marker in used_markers]
        sentences = self._not_found_notes(evidence) + guarded.sentences
        evidence.timings["total_ms"] = (time.perf_counter() - started) * 1000
        return Answer(answer=render(sentences), sentences=sentences, citations=citations,
                      codes=list(checks.values()), intents=evidence.understood.intents,
                      removed_codes=guarded.removed, ptp=evidence.exact.ptp, mue=evidence.exact.mue,
                      generator=generator, timings_ms={k: round(v, 2) for k, v in evidence.timings.items()})

    def _not_found_notes(self, evidence: Evidence) -> list[Sentence]:
        notes = []
        for code, check in evidence.checks.items():
            if check.status == "unknown":
                hint = f" Did you mean {', '.join(check.suggestions[:3])}?" if check.suggestions else ""
                notes.append(Sentence(text=f"Code {code} was not found in the reference data "
                                           f"(CPT, HCPCS Level II, ICD-10-CM, NCCI tables).{hint}"))
        return notes

    def _abstain(self, evidence: Evidence, started: float) -> Answer:
        sentences = self._not_found_notes(evidence) or [Sentence(text=(
            "I could not find a reliable answer to this in CasePilot's reference sources, so I will not guess. "
            "Try naming the code, or check the official CMS or AMA source."))]
        evidence.timings["total_ms"] = (time.perf_counter() - started) * 1000
        return Answer(answer=render(sentences), sentences=sentences, citations=[],
                      codes=list(evidence.checks.values()), intents=evidence.understood.intents, abstained=True,
                      timings_ms={k: round(v, 2) for k, v in evidence.timings.items()})

    def stream(self, question: str, *, codes: Sequence[str] = (), top_k: int | None = None,
               generator: GeneratorName = "extractive") -> Iterator[tuple[str, dict]]:
        """Events for a streamed answer: ("sentence", ...) as each is ready, then ("citations"), ("done")."""
        if generator == "llm" and self.generator is not None:
            yield from self._stream_llm(question, codes, top_k)
            return
        answer = self.ask(question, codes=codes, top_k=top_k, generator="extractive")
        for sentence in answer.sentences:
            yield "sentence", sentence.model_dump()
        yield "citations", {"citations": [c.model_dump() for c in answer.citations]}
        yield "done", answer.model_dump(exclude={"sentences", "citations"})

    def _stream_llm(self, question: str, codes: Sequence[str], top_k: int | None) -> Iterator[tuple[str, dict]]:
        started = time.perf_counter()
        question = clean_question(question, self.settings.max_question_chars)
        evidence = self.gather(question, codes=codes, top_k=top_k)
        book = CitationBook()
        drafts = compose_extractive(question, evidence.facts, evidence.hits, list(evidence.checks), book)
        text = ""
        for token in self.generator.stream(question, book.citations, drafts):
            text += token
            yield "token", {"text": token}
        from rag.providers.llm import parse_sentences

        sentences = parse_sentences(text, {c.marker for c in book.citations}) or drafts
        answer = self._finish(sentences, book, evidence, self.generator.name, started)
        yield "citations", {"citations": [c.model_dump() for c in answer.citations]}
        yield "done", answer.model_dump(exclude={"citations"})

    def search_codes(self, query: str, limit: int = 10, code_sets: Sequence[str] | None = None):
        return self.code_search.search(query, limit, code_sets)


def citation_text(citation: Citation) -> str:
    return f"[{citation.marker}] {citation.title}, {citation.version}, {citation.locator}. {citation.url}"
