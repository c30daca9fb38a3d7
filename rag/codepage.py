"""The code page and the modifier page: everything CasePilot knows about one code, each part cited.

A code page gathers, for one code: its code set, descriptors (the official descriptor where it is public,
the project's plain-language description), status and dates, NCCI PTP edits with the code in column 1 and
in column 2 (paginated, filterable by modifier indicator and by the date an edit is in force), MUE values,
the modifiers that matter for it, and coverage or guideline passages from the vector store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from typing import Callable, Literal

from pydantic import BaseModel, Field

from rag.answer import Citation, CodeCheck, CodeStatus, MueFinding, PtpFinding
from rag.claims import NCCI_ASSOCIATED_MODIFIERS
from rag.codes import normalize_icd10
from rag.compose import passage_citation
from rag.coverage import CoverageFinder
from rag.findings.codes import check_code, code_citation, describe
from rag.findings.common import release_citation
from rag.findings.modifiers import modifier_records
from rag.findings.mue import mue_citation, mue_finding
from rag.findings.ptp import ptp_finding
from rag.retrieve import HybridRetriever
from rag.stores.reference import ReferenceStore, Sourced
from rag.stores.schema import DATASETS, CodeRecord

DISTINCT_SERVICE_MODIFIERS = ("59", "XE", "XP", "XS", "XU")
PASSAGE_CACHE_SIZE = 4096
PAGE_CACHE_SIZE = 2048
PASSAGE_QUERY_CHARS = 160


class CodeNotFound(LookupError):
    def __init__(self, code: str, suggestions: list[str], kind: str = "code"):
        super().__init__(f"{kind} {code} was not found in the reference data")
        self.code, self.suggestions, self.kind = code, suggestions, kind


class Descriptor(BaseModel):
    kind: Literal["official", "plain_language"] = Field(
        description="official: the publisher's descriptor (public sets, or a licensed file); plain_language: "
                    "CasePilot's own description")
    code_set: str
    text: str
    short: str = ""
    citation: Citation


class PtpPage(BaseModel):
    column: Literal[1, 2] = Field(description="1: edits with this code in column 1 (the other code is not paid "
                                              "with it); 2: this code is the one not paid")
    dataset: str
    total: int
    page: int
    page_size: int
    pages: int
    modifier_indicator: int | None = None
    active_on: date | None = None
    edits: list[PtpFinding]
    citation: Citation | None = Field(None, description="the table the edits come from; each edit has its row")


class ModifierNote(BaseModel):
    modifier: str
    title: str
    why: str = Field(description="why this modifier matters for this code")
    guidance: str
    citation: Citation


class CodePage(BaseModel):
    code: str
    code_set: str
    status: CodeStatus
    description: str
    effective_date: int | None = None
    termination_date: int | None = None
    family: str = ""
    code_range: str = ""
    add_on_codes: list[str] = Field(default_factory=list)
    related_codes: list[str] = Field(default_factory=list)
    descriptors: list[Descriptor] = Field(default_factory=list)
    ptp_column1: PtpPage
    ptp_column2: PtpPage
    mue: list[MueFinding] = Field(default_factory=list)
    mue_citations: list[Citation] = Field(default_factory=list)
    modifiers: list[ModifierNote] = Field(default_factory=list)
    passages: list[Citation] = Field(default_factory=list, description="coverage and guideline passages")
    coverage: list[Citation] = Field(default_factory=list, description="the NCD, LCDs and billing articles for the "
                                                                      "code (rag.coverage)")
    notes: list[str] = Field(default_factory=list)


class ModifierSource(BaseModel):
    dataset: str
    title: str
    text: str
    citation: Citation


class ModifierPage(BaseModel):
    modifier: str
    title: str
    description: str
    code_set: str = ""
    when_to_use: str = ""
    when_not_to_use: str = ""
    ncci: str = ""
    ncci_associated: bool = Field(description="may bypass an NCCI PTP edit with modifier indicator 1")
    related_modifiers: list[str] = Field(default_factory=list)
    lay_terms: list[str] = Field(default_factory=list)
    sources: list[ModifierSource]


def _modifier_text(record: CodeRecord) -> str:
    attrs = record.attributes
    return " ".join(str(v) for v in (record.lay_description, attrs.get("when_to_use"), attrs.get("when_not_to_use"),
                                     attrs.get("ncci")) if v)


class CodePages:
    """Builds code and modifier pages over one ReferenceStore (and, for passages, one retriever)."""

    def __init__(self, store: ReferenceStore, retriever: HybridRetriever | None = None,
                 check: Callable[[str], CodeCheck] | None = None, passages: int = 5):
        self.store, self.retriever, self.passage_limit = store, retriever, passages
        self.check = check or (lambda code: check_code(store, code))
        self.coverage = CoverageFinder(store)
        self._lock = threading.Lock()
        self._passages: OrderedDict[tuple, list[Citation]] = OrderedDict()
        self._pages: OrderedDict[tuple, CodePage] = OrderedDict()
        self._modifiers: tuple[tuple, list[tuple[Sourced[CodeRecord], str]]] | None = None

    # ------------------------------------------------------------ code page

    def resolve(self, code: str) -> tuple[str, CodeCheck]:
        code = code.strip().upper()
        check = self.check(code)
        if check.status == "unknown" and "." not in code and len(code) > 3 and code[0].isalpha() \
                and code[1].isdigit():
            dotted = normalize_icd10(code)
            dotted_check = self.check(dotted)
            if dotted_check.status != "unknown":
                return dotted, dotted_check
        if check.status == "unknown":
            raise CodeNotFound(code, check.suggestions)
        return code, check

    def code_page(self, code: str, *, page: int = 1, page_size: int = 25, modifier_indicator: int | None = None,
                  active_on: date | None = None, dataset: str = "ptp_practitioner") -> CodePage:
        code, check = self.resolve(code)
        result = self._code_facts(code, check, dataset).model_copy(deep=True)
        result.ptp_column1 = self.ptp_page(code, 1, page=page, page_size=page_size,
                                           modifier_indicator=modifier_indicator, active_on=active_on, dataset=dataset)
        result.ptp_column2 = self.ptp_page(code, 2, page=page, page_size=page_size,
                                           modifier_indicator=modifier_indicator, active_on=active_on, dataset=dataset)
        cited = [*(d.citation for d in result.descriptors), result.ptp_column1.citation, result.ptp_column2.citation,
                 *result.mue_citations, *(m.citation for m in result.modifiers), *result.passages, *result.coverage]
        for number, citation in enumerate((c for c in cited if c is not None), start=1):
            citation.marker = number
        return result

    def _releases_key(self) -> tuple:
        return tuple(sorted((n, r.version) for n, r in self.store.releases().items()))

    def _code_facts(self, code: str, check: CodeCheck, dataset: str) -> CodePage:
        """Everything on the page but the PTP edit pages: the same for every request until a release changes,
        so it is cached (the counts behind "relevant modifiers" are the slow part)."""
        passages_key = tuple(self.retriever.active_releases()) if self.retriever is not None else ()
        key = ("page", code, dataset, check.status, self._releases_key(), passages_key)
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
        records = [s for s in self.store.lookup_code(code) if s.fact.code_set != "MODIFIER"]
        first = records[0].fact if records else None
        placeholder = PtpPage(column=1, dataset=dataset, total=0, page=1, page_size=1, pages=0, edits=[])
        result = CodePage(
            code=code, code_set=check.code_set, status=check.status, description=check.description,
            effective_date=first.effective_date if first else None, termination_date=check.termination_date,
            family=next((s.fact.family for s in records if s.fact.family), ""),
            code_range=next((s.fact.code_range for s in records if s.fact.code_range), ""),
            add_on_codes=next((list(s.fact.attributes.get("add_on_codes") or []) for s in records
                               if s.fact.attributes.get("add_on_codes")), []),
            related_codes=next((list(s.fact.attributes.get("related_codes") or []) for s in records
                                if s.fact.attributes.get("related_codes")), []),
            descriptors=[self._descriptor(s) for s in sorted(records, key=lambda s: s.release.dataset == "cpt")],
            ptp_column1=placeholder, ptp_column2=placeholder.model_copy(update={"column": 2}),
        )
        if not records:
            result.notes.append(f"{code} is listed in the CMS NCCI tables, but no descriptor file with it is loaded.")
        if check.code_set in ("CPT", "CPT/HCPCS") and not any(d.kind == "official" for d in result.descriptors):
            result.notes.append("The official CPT descriptor is AMA copyrighted and is shown only when a licensed "
                                "CPT file is loaded; the plain-language description is CasePilot's own.")
        for sourced in self.store.mue(code):
            result.mue.append(mue_finding(sourced))
            result.mue_citations.append(mue_citation(sourced))
        if not result.mue and self.store.is_loaded("mue"):
            result.notes.append(f"No MUE is published for {code} in the loaded MUE tables.")
        result.modifiers = self._relevant_modifiers(code, dataset)
        result.passages = self.passages(code, describe(first) if first else check.description)
        result.coverage = [finding.citation for finding in self.coverage.policies_for_code(code)]
        with self._lock:
            self._pages[key] = result
            while len(self._pages) > PAGE_CACHE_SIZE:
                self._pages.popitem(last=False)
        return result

    @staticmethod
    def _descriptor(sourced: Sourced[CodeRecord]) -> Descriptor:
        record = sourced.fact
        plain = sourced.release.dataset in ("cpt", "modifiers")
        text = record.lay_description if plain else (record.long_description or record.short_description
                                                     or record.lay_description)
        return Descriptor(kind="plain_language" if plain else "official", code_set=record.code_set, text=text,
                          short="" if plain else record.short_description,
                          citation=code_citation(sourced, text))

    def ptp_page(self, code: str, column: int, *, page: int = 1, page_size: int = 25,
                 modifier_indicator: int | None = None, active_on: date | None = None,
                 dataset: str = "ptp_practitioner") -> PtpPage:
        on = int((active_on or date.today()).strftime("%Y%m%d"))
        edits, total = self.store.ptp_for_code(
            code, column, dataset=dataset, modifier_indicator=modifier_indicator,
            active_on=int(active_on.strftime("%Y%m%d")) if active_on else None,
            limit=page_size, offset=(page - 1) * page_size)
        release = self.store.releases().get(dataset)
        citation = None
        if release is not None:
            citation = release_citation(release, f"edits with {code} in column {column}", None, (code,))
        return PtpPage(column=column, dataset=dataset, total=total, page=page, page_size=page_size,
                       pages=(total + page_size - 1) // page_size, modifier_indicator=modifier_indicator,
                       active_on=active_on, edits=[ptp_finding(s, on) for s in edits], citation=citation)

    # ------------------------------------------------------------ modifiers relevant to a code

    def _modifier_records(self) -> list[tuple[Sourced[CodeRecord], str]]:
        key = self._releases_key()
        with self._lock:
            if self._modifiers is None or self._modifiers[0] != key:
                records = [(s, _modifier_text(s.fact)) for s in self.store.iter_codes("MODIFIER")
                           if s.release.dataset == "modifiers"]
                self._modifiers = (key, records)
            return self._modifiers[1]

    def _relevant_modifiers(self, code: str, dataset: str) -> list[ModifierNote]:
        notes: dict[str, ModifierNote] = {}
        records = self._modifier_records()
        by_code = {s.fact.code: s for s, _ in records}
        bypassable = sum(self.store.ptp_for_code(code, column, dataset=dataset, modifier_indicator=1, limit=0)[1]
                         for column in (1, 2))
        if bypassable:
            why = (f"{bypassable} NCCI PTP edit{'s' if bypassable != 1 else ''} with {code} have modifier "
                   "indicator 1: an NCCI-associated modifier on the column 2 code can bypass them when the "
                   "services are distinct and documented.")
            for modifier in DISTINCT_SERVICE_MODIFIERS:
                if modifier in by_code:
                    notes[modifier] = self._modifier_note(by_code[modifier], why)
        for sourced, text in records:
            if sourced.fact.code not in notes and code in text:
                notes[sourced.fact.code] = self._modifier_note(sourced, f"Its guidance names {code}.")
        return list(notes.values())

    @staticmethod
    def _modifier_note(sourced: Sourced[CodeRecord], why: str) -> ModifierNote:
        record = sourced.fact
        guidance = record.attributes.get("when_to_use") or record.lay_description
        return ModifierNote(modifier=record.code, title=record.short_description, why=why, guidance=guidance,
                            citation=code_citation(sourced, guidance))

    # ------------------------------------------------------------ passages

    def passages(self, code: str, description: str) -> list[Citation]:
        if self.retriever is None:
            return []
        key = (code, tuple(self.retriever.active_releases()))
        with self._lock:
            if key in self._passages:
                self._passages.move_to_end(key)
                return [c.model_copy() for c in self._passages[key]]
        # BM25 fused with the passages that name the code: the code and its descriptor words are the query, so a
        # query embedding (the costliest step of a page, ~25 ms) would add little but time.
        retrieved = self.retriever.retrieve(f"{code} {_head(description)}", limit=self.passage_limit + 1,
                                            boost_codes=[code], mode="sparse")
        citations: list[Citation] = []
        for hit in retrieved.hits:
            if hit.passage.kind == "code" and (hit.passage.codes[:1] == (code,) or hit.passage.doc_id.endswith(code)):
                continue  # the code's own descriptor passage: already on the page
            citations.append(passage_citation(hit).model_copy(update={"marker": len(citations) + 1}))
        citations = citations[:self.passage_limit]
        with self._lock:
            self._passages[key] = citations
            while len(self._passages) > PASSAGE_CACHE_SIZE:
                self._passages.popitem(last=False)
        return [c.model_copy() for c in citations]

    # ------------------------------------------------------------ modifier page

    def modifier_page(self, modifier: str) -> ModifierPage:
        modifier = modifier.strip().lstrip("-").upper()
        found = modifier_records(self.store, modifier)
        if not found:
            raise CodeNotFound(modifier, [], kind="modifier")
        guide = found[0].fact
        attrs = guide.attributes
        sources = []
        for sourced in found:
            record = sourced.fact
            text = record.lay_description or describe(record)
            sources.append(ModifierSource(
                dataset=sourced.release.dataset, title=DATASETS[sourced.release.dataset].title, text=text,
                citation=code_citation(sourced, text)))
        for number, source in enumerate(sources, start=1):
            source.citation.marker = number
        return ModifierPage(
            modifier=modifier, title=guide.short_description or describe(guide), description=describe(guide),
            code_set=str(attrs.get("code_set") or ""), when_to_use=attrs.get("when_to_use") or "",
            when_not_to_use=attrs.get("when_not_to_use") or "", ncci=attrs.get("ncci") or "",
            ncci_associated=modifier in NCCI_ASSOCIATED_MODIFIERS,
            related_modifiers=list(attrs.get("related_modifiers") or []), lay_terms=list(attrs.get("lay_terms") or []),
            sources=sources)


def _head(text: str, limit: int = PASSAGE_QUERY_CHARS) -> str:
    """The start of a descriptor, cut at a word: enough to say what the code is, and cheap to embed."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0]
