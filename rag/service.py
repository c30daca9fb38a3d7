"""The query service: question in, grounded and cited answer out.

understand -> exact facts from the reference store -> (only if needed) hybrid retrieval -> compose
(extractive, or an LLM) -> code guard -> answer. Exact questions never pay for a query embedding.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterator, Literal, Sequence

from rag.answer import Alternative, Answer, Citation, CodeCheck, CodeHit, PlanStep, SeeAlso, Sentence
from rag.case2code import CodeSearch
from rag.conversation import CLARIFY, Turn, in_context
from rag.compose import CitationBook, attribute_citations, compose_extractive, last_sentence_end, render
from rag.coverage import CoverageFinder
from rag.exact import ExactResult, mue_facts, pair_facts
from rag.findings.codes import check_code, code_facts, listing_facts, replacement_facts
from rag.findings.common import CodeToCompare, Fact
from rag.findings.missing import hcpcs_not_loaded, loaded, missing_table_fact
from rag.findings_mpfs import addon_answer_facts, mpfs_facts
from rag.findings.modifiers import em_modifier_rule, modifier_answer_facts
from rag.guard import Guarded, guard_codes
from rag.intents import UNIT_WORDS, Understood, residual_words, understand
from rag.scope import no_source_text, refusal_text
from rag.providers.llm import Generator
from rag.retrieve import HybridRetriever
from rag.settings import Settings
from rag.stores.reference import ReferenceStore
from rag.stores.vectors import Hit
from rag.timing import Timings
from rag.which_code import QUESTION_WORDS, WHICH_CODE, WhichCode
from rag.which_modifier import ASKS_FOR_MODIFIER, MODIFIER_WORD, ModifierSearch

log = logging.getLogger(__name__)

RETRIEVAL_INTENTS = {"modifier", "coverage", "guideline", "open"}
FEE_SCHEDULE_WORDS = re.compile(r"\bglobal (?:period|days?|surgery|package)\b|\bpc/?tc\b|\bfee schedule\b|"
                                r"\b(?:bilateral|assistant|co-?surgeon|team|multiple procedure) "
                                r"(?:indicator|surgery)\b", re.I)
# "Can I bill 64484 without 64483?", "is 22552 an add-on code?", "primary code for 99292": the add-on edits lead.
# Only the explicit words make "not an add-on code" (or "the add-on file is not loaded") worth saying.
ADDON_WORDS = re.compile(r"\badd[- ]?ons?\b|\bprimary (?:codes?|procedures?|services?)\b", re.I)
WITHOUT = re.compile(r"\bwithout\b|\balone\b|\bby itself\b|\bstand[- ]?alone\b", re.I)
# "When did JZ become required?", "the difference between 95 and 93": a rule about modifiers, answered by the
# section about it; the modifiers' own descriptions answer only when no section is about the question.
# ("When should I use modifier 25?" is answered by 25's own description.)
RULE_ABOUT_MODIFIERS = re.compile(r"\bwhen (?:did|was|were)\b|\bdifference\b|\bwhy\b|"
                                  r"\b(?:created|introduced|became|become required)\b", re.I)
REPLACEMENT_WORDS = re.compile(r"\breplac\w*|\bwhat (?:do|should) (?:i|we) (?:use|bill) (?:now|instead)\b|"
                               r"\bnew code\b", re.I)
RULE_QUESTION = re.compile(r"^\s*(?:does|do|can|could|how|which|when|why|should|must|are there|is there|"
                           r"what (?:is|are) the (?:rule|limit|time|frequency)|what (?:services|tests|minutes))\b", re.I)
WEAK_CODE_MATCH = 0.6  # below this, a question's code search found words, not the service or condition
GeneratorName = Literal["extractive", "llm"]
ABSTENTION = ("I could not find a reliable answer to this in CasePilot's reference sources, so I will not guess. "
              "Try naming the code, or check the official CMS or AMA source.")


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
    hits: list[Hit]
    service_date: int | None
    suggested: dict[str, CodeCheck] = field(default_factory=dict)  # "Did you mean" codes, checked too
    plan: list[PlanStep] = field(default_factory=list)
    compare: list[CodeToCompare] = field(default_factory=list)  # codes named after the answer, not claims
    fallback: list[Fact] = field(default_factory=list)  # facts that answer only when no passage is about it


@dataclass
class Prepared:
    """A question made ready to answer: cleaned, its evidence gathered, abstention decided, the extractive
    sentences drafted. ``ask`` and ``stream`` both start here."""

    question: str
    evidence: Evidence
    book: CitationBook
    drafts: list[Sentence]
    abstain: bool
    timings: Timings
    clarify: bool = False
    no_source: bool = False  # retrieval found passages, none about the question
    see_also: list[SeeAlso] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)


class QueryService:
    """Answers questions over one data snapshot (its reference store and its passage releases); the
    composition root (rag.app) builds one per snapshot."""

    def __init__(self, settings: Settings, reference: ReferenceStore, retriever: HybridRetriever | None,
                 generator: Generator | None = None, code_search: CodeSearch | None = None):
        self.settings, self.reference, self.retriever, self.generator = settings, reference, retriever, generator
        self.code_search = code_search or CodeSearch(reference, retriever)
        self.which_code = WhichCode(reference, self.code_search)
        self.which_modifier = ModifierSearch(reference, retriever)
        self.coverage = CoverageFinder(reference)

    def ready(self) -> bool:
        return self.reference.is_loaded() and self.retriever is not None and bool(self.retriever.active_releases())

    # ------------------------------------------------------------ evidence

    def check(self, code: str, code_set: str = "", suggest: bool = True) -> CodeCheck:
        result = check_code(self.reference, code, code_set)
        if result.status == "unknown" and suggest:
            result.suggestions = self.code_search.closest_codes(code)
        return result

    def gather(self, question: str, *, codes: Sequence[str] = (), top_k: int | None = None,
               timings: Timings | None = None) -> Evidence:
        timings = timings or Timings()
        plan: list[PlanStep] = []
        with timings.measure("exact_ms"):
            text = " ".join([question, *codes]) if codes else question
            understood = understand(text)
            recognized = understood.recognized
            if understood.intents == ["out_of_scope"]:
                plan.append(PlanStep(tool="out_of_scope", why="a clinical or treatment question, not coding"))
                return Evidence(understood, [], ExactResult(), {}, [], None, plan=plan)
            checks: dict[str, CodeCheck] = {}
            read_at: dict[int, CodeCheck] = {}  # the first reading of each written token
            for mention in recognized.codes:
                first = read_at.get(mention.start)
                if mention.alternative and first is not None and first.status != "unknown":
                    continue  # "HCPCS code G0439" is G0439, not also ICD-10-CM G04.39
                result = self.check(mention.code, mention.code_set, suggest=not mention.alternative)
                if result.status == "unknown" and mention.alternative:
                    continue
                checks[mention.code] = result
                read_at.setdefault(mention.start, result)
            # A code-shaped token that is no code but a word of the code sets' titles ("B12 shot": vitamin B12 is
            # in D51.0's title), among other words, is read as that word: the question is about a vitamin B12 shot.
            # Asked about alone ("what is B12?") it stays a code, and the answer says it is not one.
            words = {code for code, check in checks.items() if check.status == "unknown" and "." not in code
                     and self.reference.descriptors_contain(code.lower())} \
                if residual_words(text, recognized) else set()
            if words:
                understood = understand(text, words)
                recognized = understood.recognized
                checks = {code: check for code, check in checks.items() if code not in words}
            valid = [c for c, r in checks.items() if r.status != "unknown"]
            if unknown := [c for c, r in checks.items() if r.status == "unknown"]:
                plan.append(PlanStep(tool="code_lookup", why=f"{', '.join(unknown)}: in no loaded code set or NCCI "
                                                            f"table, so not found"))
            procedures = [c for c in understood.procedure_codes if c in valid]
            service_date = recognized.dates[0] if recognized.dates else None
            exact = ExactResult()
            facts: list[Fact] = []
            intents = understood.intents
            if "pair_check" in intents:
                exact = pair_facts(self.reference, procedures, service_date)
                facts += exact.facts
                plan.append(PlanStep(tool="pair_check", why=f"NCCI PTP tables for {', '.join(procedures)}"))
            if "units" in intents:
                facts += self.which_code.dose_facts(question, procedures)
                asked_units = [] if facts else recognized.units  # "60 mg" is a dose, not units asked about
                # A code that cannot be checked (no HCPCS file) still needs the MUE table: say that it is missing too.
                asked_about = procedures or ([] if loaded(self.reference, "mue") else understood.procedure_codes)
                units = mue_facts(self.reference, asked_about, asked_units)
                exact.mue, facts = units.mue, facts + units.facts
                plan.append(PlanStep(tool="units", why=f"MUE tables for {', '.join(procedures)}"))
            if procedures and FEE_SCHEDULE_WORDS.search(question):
                facts += self._fee_schedule_facts(procedures)
                plan.append(PlanStep(tool="fee_schedule", why=f"MPFS indicators for {', '.join(procedures)}"))
            without = bool(procedures and WITHOUT.search(question))
            addon_asked = bool(procedures and ADDON_WORDS.search(question))
            if addon_asked or without or (len(procedures) >= 2 and "pair_check" in intents):
                found_addons = addon_answer_facts(self.reference, procedures, service_date, without=without,
                                                  say_absent=addon_asked)
                facts = found_addons + facts if addon_asked or without else facts + found_addons
                if found_addons:
                    plan.append(PlanStep(tool="addon", why=f"NCCI add-on code edits for {', '.join(procedures)}"))
            fallback: list[Fact] = []  # facts that answer only when no passage is about the question
            if "modifier" in intents:
                described = modifier_answer_facts(self.reference, recognized.modifiers)
                rule = em_modifier_rule(self.reference, question, recognized.modifiers)
                facts += [rule] if rule else []
                if recognized.modifiers and RULE_ABOUT_MODIFIERS.search(question) and self.retriever is not None:
                    fallback = described
                else:
                    facts += described
                if recognized.modifiers:  # a modifier asked for in words is the which_modifier step's
                    plan.append(PlanStep(tool="modifier", why=f"modifier guidance for {', '.join(recognized.modifiers)}"))
            answered_whole = False
            if "coverage" in intents:  # the NCD, or the LCDs and articles (rag.coverage); policy ids are not codes
                coverage = self.coverage.find(question, valid)
                answered_whole = coverage.whole
                facts = coverage.facts + facts
                checks = {code: check for code, check in checks.items() if code not in coverage.not_codes}
                if coverage.facts:
                    plan.append(PlanStep(tool="coverage", why="NCDs, then the MACs' LCDs and billing articles"))
            replaced: set[str] = set()
            if valid and REPLACEMENT_WORDS.search(question):  # "what replaced 22524?": the replacement leads
                for code in valid:
                    if answered := replacement_facts(self.reference, code):
                        facts += answered
                        replaced.add(code)  # its row would say the deletion and the replacement again
            if "code_lookup" in intents or (valid and not facts):
                # "Does Medicare pay 99417 for prolonged office visits?" asks a rule about the code: the section
                # about it answers, the code's description only when no section is about the question.
                asks_a_rule = bool("guideline" in intents and RULE_QUESTION.search(question) and not facts
                                   and self.retriever is not None
                                   and not set(intents) & {"pair_check", "units", "coverage"})
                for code in (c for c in valid if c not in replaced):
                    described = code_facts(self.reference, code) or listing_facts(self.reference, code)
                    if asks_a_rule:
                        fallback += described
                    else:
                        facts += described
                if valid:
                    plan.append(PlanStep(tool="code_lookup", why=f"the code sets for {', '.join(valid)}"))
            answered_from_words = False
            named_modifier = False
            compare: list[CodeToCompare] = []
            if not recognized.codes and not recognized.modifiers and MODIFIER_WORD.search(question) and \
                    ("guideline" not in intents or ASKS_FOR_MODIFIER.search(question)):
                named = self.which_modifier.answer(question)
                if named.facts:
                    facts += named.facts
                    compare += named.compare
                    named_modifier = True
                    plan.append(PlanStep(tool="which_modifier", why=f"modifier search for \"{named.query}\""))
            # A coverage answer names its policies; the condition's code is added only when a code is asked for
            # ("Is a TENS unit covered for chronic low back pain?" is not asking for M54.5-).
            if not recognized.codes and not recognized.modifiers and not named_modifier and \
                    ("which_code" in intents or UNIT_WORDS.search(question)) and \
                    not ("coverage" in intents and not WHICH_CODE.search(question)):
                found = self.which_code.answer(question)
                if found.facts and found.match < WEAK_CODE_MATCH and not WHICH_CODE.search(question) and \
                        QUESTION_WORDS.search(question):
                    found.facts = []  # "what is a medically unlikely edit?": a rule asked for, not a code
                if found.facts:
                    facts += found.facts
                    compare += found.compare
                    answered_from_words = True
                    tool = "drug_units" if found.code_sets == ["HCPCS"] and found.query and \
                        not found.query[:1].isdigit() and found.facts[0].text.startswith("The HCPCS code for") \
                        else "which_code"
                    plan.append(PlanStep(tool=tool, why=f"code search for \"{found.query}\" in "
                                         + (", ".join(found.code_sets) if found.code_sets else "every code set")))
                    for code in found.codes:
                        checks.setdefault(code, self.check(code, suggest=False))
        hits: list[Hit] = []
        needs_retrieval = (bool(set(intents) & RETRIEVAL_INTENTS) or not facts) and not answered_from_words
        if checks and not valid or answered_whole:
            needs_retrieval = False  # every code named is unknown (the answer is "not found"), or facts say it all
        if needs_retrieval and self.retriever is not None:
            retrieved = self.retriever.retrieve(question, limit=top_k or self.settings.top_k,
                                                boost_codes=valid + recognized.modifiers)
            hits = retrieved.hits
            timings.add({"embed_ms": retrieved.embed_ms, "search_ms": retrieved.search_ms, **retrieved.timings})
            plan.append(PlanStep(tool="coverage" if "coverage" in intents else "retrieval",
                                 why="guideline and coverage passages (hybrid search)"))
        return Evidence(understood, facts, exact, checks, hits, service_date, plan=plan, compare=compare,
                        fallback=fallback)

    def _fee_schedule_facts(self, codes: Sequence[str]) -> list[Fact]:
        if not loaded(self.reference, "mpfs"):
            return [missing_table_fact("mpfs", codes)]
        return [fact for code in codes for fact in mpfs_facts(self.reference, code)]

    def _weak(self, evidence: Evidence) -> bool:
        if evidence.checks and all(c.status == "unknown" for c in evidence.checks.values()):
            return True  # every code named does not exist: say so rather than answer around it
        if evidence.facts or evidence.fallback:
            return False
        asked_only_about_codes = set(evidence.understood.intents) <= {"code_lookup", "pair_check", "units"}
        if asked_only_about_codes and evidence.checks:
            return True  # the codes asked about do not exist: say so rather than answer about others
        best = max((h.similarity for h in evidence.hits), default=0.0)
        return best < self.settings.min_retrieval_score

    def prepare(self, question: str, *, codes: Sequence[str] = (), top_k: int | None = None,
                history: Sequence[Turn] = ()) -> Prepared:
        """Clean, put in the conversation's context, gather, decide whether to abstain, and draft the
        extractive answer."""
        timings = Timings()
        question = clean_question(question, self.settings.max_question_chars)
        context = in_context(question, history)
        if context.clarify:
            evidence = Evidence(understand(question), [], ExactResult(), {}, [], None,
                                plan=[PlanStep(tool="clarify", why="a follow-up with no earlier question")])
            return Prepared(question, evidence, CitationBook(), [], True, timings, clarify=True)
        evidence = self.gather(context.question, codes=codes, top_k=top_k, timings=timings)
        if context.follow_up:
            evidence.plan.insert(0, PlanStep(tool="conversation", why=f"follow-up read as: {context.question}"))
        book = CitationBook()
        if evidence.understood.intents == ["out_of_scope"] or self._weak(evidence):
            return Prepared(question, evidence, book, [], True, timings)
        named = [*evidence.checks, *evidence.understood.recognized.modifiers]
        with timings.measure("compose_ms"):
            composed = compose_extractive(context.question, evidence.facts, evidence.hits, named, book)
            if not composed.sentences and evidence.fallback:  # no section is about it: the descriptions answer
                composed = compose_extractive(context.question, [*evidence.fallback, *evidence.facts], evidence.hits,
                                              named, book)
        if not composed.sentences:  # no source is about what was asked: say so, and where the answer lives
            return Prepared(question, evidence, CitationBook(), [], True, timings, no_source=True)
        alternatives = [Alternative(code=item.code, description=item.description, differs=item.differs,
                                    citation=book.cite(item.citation)) for item in evidence.compare]
        return Prepared(question, evidence, book, composed.sentences, False, timings, see_also=composed.see_also,
                        alternatives=alternatives)

    # ------------------------------------------------------------ answers

    def ask(self, question: str, *, codes: Sequence[str] = (), top_k: int | None = None,
            generator: GeneratorName = "extractive", history: Sequence[Turn] = ()) -> Answer:
        prepared = self.prepare(question, codes=codes, top_k=top_k, history=history)
        if prepared.abstain:
            return self._answer(prepared, None)
        if generator == "llm" and self.generator is not None:
            with prepared.timings.measure("llm_ms"):
                try:
                    drafted = self.generator.generate(prepared.question, prepared.book.citations, prepared.drafts)
                except Exception as error:  # an unreachable or failing endpoint: the extractive answer stands
                    log.warning("LLM generator failed (%s): answering extractively", type(error).__name__)
                    drafted = []
            accepted = attribute_citations(drafted, prepared.book.citations, prepared.drafts)
            guarded = self._guard(prepared, accepted) if accepted else Guarded(sentences=[])
            if guarded.sentences:
                return self._answer(prepared, guarded, self.generator.name)
            # Nothing the model wrote survived the guards: the extractive answer stands, and what the guard took
            # out of the model's text is still reported.
            extractive = self._guard(prepared, prepared.drafts)
            extractive.removed = list(dict.fromkeys([*guarded.removed, *extractive.removed]))
            return self._answer(prepared, extractive)
        return self._answer(prepared, self._guard(prepared, prepared.drafts))

    def _guard(self, prepared: Prepared, sentences: Sequence[Sentence]) -> Guarded:
        """The code guard and the claim guard, for every generator: a sentence about a pair, an indicator, a unit
        limit or a code's status that disagrees with the reference data is removed."""
        return guard_codes(sentences, prepared.book.citations, lambda code: self.check(code, suggest=False),
                           store=self.reference, on=prepared.evidence.service_date)

    def _answer(self, prepared: Prepared, guarded: Guarded | None, generator: str = "extractive") -> Answer:
        """The one Answer builder: not-found notes first, then the guarded sentences, with the citations they
        use; an abstention when nothing (or nothing guarded) is left to say."""
        evidence, book = prepared.evidence, prepared.book
        notes = self._not_found_notes(evidence, book)
        abstained = guarded is None or not guarded.sentences
        if abstained:
            refusal = evidence.understood.intents == ["out_of_scope"]
            text = (CLARIFY if prepared.clarify else refusal_text(evidence.understood.question) if refusal
                    else no_source_text(evidence.understood) if prepared.no_source else ABSTENTION)
            sentences = notes or [Sentence(text=text)]
            checks = {**evidence.checks, **evidence.suggested}
        else:
            assert guarded is not None
            sentences = notes + guarded.sentences
            checks = {**guarded.checks, **evidence.checks, **evidence.suggested}
        alternatives = [] if abstained else prepared.alternatives
        used_markers = {m for s in sentences for m in s.citations} | {a.citation for a in alternatives}
        prepared.timings.total()
        see_also = [] if abstained else prepared.see_also
        return Answer(answer=render(sentences, see_also, alternatives), sentences=sentences, see_also=see_also,
                      alternatives=alternatives,
                      citations=[c for c in book.citations if c.marker in used_markers],
                      codes=list(checks.values()), intents=evidence.understood.intents, plan=evidence.plan,
                      abstained=abstained,
                      removed_codes=[] if abstained or guarded is None else guarded.removed,
                      ptp=[] if abstained else evidence.exact.ptp, mue=[] if abstained else evidence.exact.mue,
                      generator="extractive" if abstained else generator, timings_ms=prepared.timings.rounded())

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
            unloaded = hcpcs_not_loaded(self.reference, code)
            text = unloaded or (f"Code {code} was not found in the reference data "
                                f"(CPT, HCPCS Level II, ICD-10-CM, NCCI tables).{hint}")
            notes.append(Sentence(text=text, citations=[] if unloaded else list(dict.fromkeys(markers))))
        # The tables the question needed and that are missing too (a unit question needs the MUE table as well).
        unchecked = {fact.text: fact for fact in evidence.facts if fact.table_missing}
        notes += [Sentence(text=text, citations=[book.cite(fact.citation)]) for text, fact in unchecked.items()
                  if notes and text not in {n.text for n in notes}]
        return notes

    def _code_citation(self, code: str) -> Citation | None:
        facts = code_facts(self.reference, code) or listing_facts(self.reference, code)
        return facts[0].citation if facts else None

    def stream(self, question: str, *, codes: Sequence[str] = (), top_k: int | None = None,
               generator: GeneratorName = "extractive", history: Sequence[Turn] = ()) -> Iterator[tuple[str, dict]]:
        """Events for a streamed answer: ("sentence", ...) as each is ready (or ("token", ...) on the LLM path),
        then ("citations"), then ("done")."""
        if generator == "llm" and self.generator is not None:
            yield from self._stream_llm(self.generator,
                                        self.prepare(question, codes=codes, top_k=top_k, history=history))
            return
        answer = self.ask(question, codes=codes, top_k=top_k, generator="extractive", history=history)
        for sentence in answer.sentences:
            yield "sentence", sentence.model_dump()
        yield "citations", {"citations": [c.model_dump() for c in answer.citations]}
        yield "done", answer.model_dump(exclude={"sentences", "citations"})

    def _stream_llm(self, llm: Generator, prepared: Prepared) -> Iterator[tuple[str, dict]]:
        """Tokens are released a sentence at a time, after that sentence is attributed and guarded: a code the
        model invents never reaches the client, not even for a moment."""
        from rag.providers.llm import parse_sentences

        if prepared.abstain:
            answer = self._answer(prepared, None)
        else:
            book, drafts = prepared.book, prepared.drafts
            markers = {c.marker for c in book.citations}
            released = Guarded(sentences=[])

            def release(text: str) -> Iterator[tuple[str, dict]]:
                guarded = self._guard(prepared, attribute_citations(parse_sentences(text, markers), book.citations,
                                                                    drafts))
                released.sentences += guarded.sentences
                released.removed += [c for c in guarded.removed if c not in released.removed]
                released.checks.update(guarded.checks)
                if guarded.sentences:
                    yield "token", {"text": render(guarded.sentences) + " "}

            pending = ""
            with prepared.timings.measure("llm_ms"):
                try:
                    for token in llm.stream(prepared.question, book.citations, drafts):
                        pending += token
                        cut = last_sentence_end(pending)
                        if cut:
                            yield from release(pending[:cut])
                            pending = pending[cut:]
                    if pending.strip():
                        yield from release(pending)
                except Exception as error:  # the endpoint failed mid-way: keep what was released, else extractive
                    log.warning("LLM generator failed while streaming (%s)", type(error).__name__)
            if released.sentences:
                answer = self._answer(prepared, released, llm.name)
            else:
                answer = self._answer(prepared, self._guard(prepared, drafts))
                for sentence in answer.sentences:
                    yield "sentence", sentence.model_dump()
        yield "citations", {"citations": [c.model_dump() for c in answer.citations]}
        yield "done", answer.model_dump(exclude={"citations"})

    def search_codes(self, query: str, limit: int = 10, code_sets: Sequence[str] | None = None) -> list[CodeHit]:
        return self.code_search.search(query, limit, code_sets)


def _spoken_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def citation_text(citation: Citation) -> str:
    return f"[{citation.marker}] {citation.title}, {citation.version}, {citation.locator}. {citation.url}"
