"""Medicare coverage answers: the NCD if there is one, otherwise the MACs' LCDs and billing articles.

Deterministic, like rag.exact: every finding is read from the reference store (the MCD index or download, the
project's NCD summaries, its MAC jurisdiction table) and carries a citation with the policy's id, title,
contractor, version, date and URL. No similarity search, no model.

- NCD: a national coverage determination whose codes include a code named, whose keywords the question uses, or
  whose section number it names ("NCD 150.13").
- Otherwise "no NCD; coverage is set by LCDs": the LCDs and billing articles whose code lists name the service's
  codes (when the MCD download is loaded), else whose titles match the service's words or its codes' family.
- "in Ohio" keeps the policies of the state's MACs (the MAC table, or the download's states).
- Retired policies are never offered as current; a future version is not offered before its effective date.
- Nothing found is said to be no finding of non-coverage.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from rag.answer import Citation
from rag.codes import normalize_icd10
from rag.exact import Fact, format_date, reference_citation
from rag.stores.reference import ReferenceStore, Sourced
from rag.stores.schema import CoveragePolicy, MacJurisdiction
from rag.text import STOPWORDS

MatchedBy = Literal["code_list", "title", "family", "named", "ncd"]
MAX_LCDS = 8
MAX_ARTICLES = 4
MAX_OTHER_MACS = 4
# Dataset preference when one policy version is in several releases: the download has the code lists.
DATASET_RANK = {"mcd_download": 0, "mcd_index": 1, "ncds": 2}

# A question about whether a named service is covered (not "what is an ABN").
SERVICE_ASK = re.compile(
    r"\b(does|do|will|would|is|are|can)\b.{0,60}\b(medicare|cms|part b|part a|mac)\b.{0,40}\b(cover|pay)|"
    r"\b(is|are)\b.{1,60}\bcovered\b|\bcoverage (of|for)\b|\bcovered by medicare\b|"
    r"\b(lcds?|ncds?|polic(y|ies)|billing (and|&) coding articles?|articles?)\s+(for|on|about|covering|governs?|"
    r"appl(y|ies))\b|\bwhich (lcds?|ncds?|polic(y|ies)|articles?)\b|\b(lcd|ncd)\b.{0,30}\b(exist|there)\b|"
    r"\bin effect\b|\bstill (current|active|valid)\b|\bretired\b|\bwhich macs?\b|\bmacs? (for|serv\w*|covers?)\b",
    re.I)
POLICY_ID = re.compile(r"\b([LA]\d{5})\b")
NCD_SECTION = re.compile(r"\bNCDs?\s*(?:#|no\.?|number|section)?\s*(\d{2,3}(?:\.\d{1,2}){0,3})\b", re.I)
# Words that say what kind of question it is, not which service it is about.
QUESTION_WORDS = set("""medicare cover covers covered covering coverage lcd lcds ncd ncds article articles policy
policies local national determination determinations billing coding patient patients beneficiary beneficiaries
service services procedure procedures criteria requirement requirements medically medical necessity necessary pay
pays paid payment allowed rule rules apply applies applied under part mac macs state states jurisdiction contractor
there still effect current active valid retired which any get receive would could need needs require required
whether me tell about find list show give please cms has have had them their its one any someone""".split())
# Lay names that MCD titles do not use, and the title words they stand for.
SERVICE_TERMS = {
    "kyphoplasty": "vertebral augmentation",
    "vertebroplasty": "vertebral augmentation",
    "botox": "botulinum toxins",
    "cgm": "glucose monitor",
    "esi": "epidural steroid",
}
STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming", "PR": "Puerto Rico", "VI": "U.S. Virgin Islands", "GU": "Guam", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}
STATE_NAMES = sorted(((name, code) for code, name in STATES.items()), key=lambda item: -len(item[0]))
STATE_WORDS = {w for name in STATES.values() for w in re.findall(r"[a-z]+", name.lower())}
MAC_KINDS = {"A/B MAC": ("MAC - Part A", "MAC - Part B", "A and B MAC", "A and B and HHH MAC", "Part A", "Part B"),
             "DME MAC": ("DME MAC",)}


class PolicyFinding(BaseModel):
    """One LCD, billing article or NCD that applies to the question, with its citation."""

    policy_id: str = Field(description="L38201, A57282, or the NCD manual section (150.13)")
    doc_type: str
    title: str
    contractors: list[str] = Field(default_factory=list)
    version: str = ""
    effective_date: int | None = None
    retirement_date: int | None = None
    status: Literal["current", "retired", "future"]
    url: str = ""
    matched_by: MatchedBy
    dataset: str
    citation: Citation


class DiagnosisVerdict(BaseModel):
    """Whether a diagnosis is on a billing article's covered or non-covered ICD-10-CM list for a code."""

    article: PolicyFinding
    code: str
    diagnosis: str
    on_list: Literal["covered", "noncovered", "not_listed"]
    group: int | None = None
    explanation: str


@dataclass
class CoverageResult:
    facts: list[Fact] = field(default_factory=list)
    ncds: list[PolicyFinding] = field(default_factory=list)
    lcds: list[PolicyFinding] = field(default_factory=list)
    articles: list[PolicyFinding] = field(default_factory=list)
    retired: list[PolicyFinding] = field(default_factory=list)
    state: str | None = None
    macs: list[MacJurisdiction] = field(default_factory=list)
    named: list[str] = field(default_factory=list)  # policy ids the question names (L34011, 150.13)
    whole: bool = False  # the facts answer the question whole (which MAC serves a state): no passages needed

    @property
    def not_codes(self) -> set[str]:
        """Code-shaped tokens of the question that are policy ids (L34011 reads as ICD-10-CM L34.011)."""
        return {normalize_icd10(p) for p in self.named if POLICY_ID.fullmatch(p)} | set(self.named)


ASKS_FOR_MAC = re.compile(r"\b(?:which|what|who(?: is)?(?: the)?)\s+(?:(?:a/b|dme|part [ab])\s+)?macs?\b|"
                          r"\bmacs?\s+(?:for|in|covers?|serves?)\b|\bjurisdiction\b", re.I)


def today() -> int:
    return int(date.today().strftime("%Y%m%d"))


def status_on(policy: CoveragePolicy, on: int) -> str:
    """A policy's status on a date: the dates decide, the source's word only where it has no dates."""
    if policy.retirement_date is not None and policy.retirement_date <= on:
        return "retired"
    if policy.status == "retired" and policy.retirement_date is None:
        return "retired"
    if policy.effective_date is not None and policy.effective_date > on:
        return "future"
    return "current"


def find_state(question: str) -> str | None:
    """The state or territory a question names ("in Ohio", "for a Texas patient", "in OH")."""
    lowered = question.lower()
    for name, code in STATE_NAMES:
        if re.search(rf"\b{re.escape(name.lower())}\b", lowered):
            if name == "Virginia" and re.search(r"\bwest virginia\b", lowered):
                continue
            if name == "Washington" and re.search(r"\bwashington,? d\.?c\b", lowered):
                return "DC"
            return code
    match = re.search(r"\b(?:in|for|from)\s+([A-Z]{2})\b", question)
    if match and match.group(1) in STATES and match.group(1) not in ("IN", "OR", "ME"):
        return match.group(1)
    return None


def contractor_label(policy: CoveragePolicy) -> str:
    names: dict[str, list[str]] = {}
    for name, kind in policy.contractors:
        names.setdefault(name, [])
        if kind and kind not in names[name]:
            names[name].append(kind)
    return "; ".join(f"{n} ({', '.join(k)})" if k else n for n, k in names.items()) or "contractor not listed"


def _fts_query(words: Iterable[str]) -> str:
    return " ".join(f'"{w}"' for w in words)


def service_words(question: str) -> list[str]:
    """The words that name the service: the question less its question words, states, codes and ids."""
    text = POLICY_ID.sub(" ", NCD_SECTION.sub(" ", question))
    found = [w for w in re.findall(r"[a-z][a-z0-9-]*", text.lower())
             if w not in STOPWORDS and w not in QUESTION_WORDS and w not in STATE_WORDS and len(w) > 1]
    return list(dict.fromkeys(found))


class CoverageFinder:
    """Answers coverage questions from one ReferenceStore."""

    def __init__(self, store: ReferenceStore):
        self.store = store
        self._lock = threading.Lock()
        self._ncds: tuple[tuple, list[Sourced[CoveragePolicy]]] | None = None

    # ------------------------------------------------------------ loaded data

    def loaded(self) -> bool:
        return bool(self.store.coverage_datasets())

    def ncds(self) -> list[Sourced[CoveragePolicy]]:
        key = tuple(sorted((n, r.version) for n, r in self.store.releases().items()))
        with self._lock:
            if self._ncds is None or self._ncds[0] != key:
                found = [s for s in self.store.iter_policies("ncds") if s.fact.doc_type == "NCD"]
                self._ncds = (key, found)
            return self._ncds[1]

    # ------------------------------------------------------------ citations

    def finding(self, sourced: Sourced[CoveragePolicy], matched_by: MatchedBy, on: int | None = None) -> PolicyFinding:
        policy = sourced.fact
        status = status_on(policy, on or today())
        contractors = [f"{name} ({kind})" if kind else name for name, kind in policy.contractors]
        label = "NCD" if policy.doc_type == "NCD" else ("LCD" if policy.doc_type == "LCD" else "Article")
        effective = format_date(policy.effective_date) if policy.effective_date else "no date"
        if policy.doc_type == "NCD":
            snippet = f"NCD {policy.policy_id} | {policy.title} | effective {effective} | {policy.summary}"
        else:
            snippet = (f"{policy.policy_id} | {policy.title} | {contractor_label(policy)} | version {policy.version} | "
                       f"effective {effective}"
                       + (f" | retired {format_date(policy.retirement_date)}" if policy.retirement_date else "")
                       + f" | {policy.url}")
        citation = reference_citation(sourced, snippet, policy.row)
        citation = citation.model_copy(update={
            "title": f"{label} {policy.policy_id} {policy.title}",
            "version": (f"effective {effective}" if policy.doc_type == "NCD" else
                        f"version {policy.version}, effective {effective}"),
            "url": policy.url or citation.url,
            "codes": list(policy.attributes.get("codes", [])),
        })
        if policy.doc_type == "NCD":
            citation.locator = f"NCD manual section {policy.policy_id}"
        return PolicyFinding(
            policy_id=policy.policy_id, doc_type=policy.doc_type, title=policy.title, contractors=contractors,
            version=policy.version, effective_date=policy.effective_date, retirement_date=policy.retirement_date,
            status=status, url=policy.url, matched_by=matched_by, dataset=sourced.release.dataset, citation=citation)

    # ------------------------------------------------------------ matching

    def match_ncds(self, question: str, codes: Sequence[str]) -> list[Sourced[CoveragePolicy]]:
        lowered = f" {question.lower()} "
        named = set(NCD_SECTION.findall(question))
        found = []
        for sourced in self.ncds():
            policy = sourced.fact
            keywords = policy.attributes.get("keywords", [])
            if (policy.policy_id in named or set(codes) & set(policy.attributes.get("codes", []))
                    or any(re.search(rf"(?<![a-z0-9]){re.escape(k)}(?![a-z0-9])", lowered) for k in keywords)):
                found.append(sourced)
        return found

    def policies_for_codes(self, codes: Sequence[str]) -> list[tuple[Sourced[CoveragePolicy], MatchedBy]]:
        """LCDs and articles whose code lists name the codes, with the LCDs those articles belong to."""
        found: list[tuple[Sourced[CoveragePolicy], MatchedBy]] = []
        for code in codes:
            found += [(s, "code_list") for s in self.store.policies_listing(code) if s.fact.doc_type != "NCD"]
        related = {r for s, _ in found for r in s.fact.related}
        found += [(s, "code_list") for s in self.store.policies(related) if s.fact.doc_type != "NCD"]
        return found

    def policies_by_title(self, words: Sequence[str]) -> list[Sourced[CoveragePolicy]]:
        if not words:
            return []
        return [s for s in self.store.search_policy_titles(_fts_query(words)) if s.fact.doc_type != "NCD"]

    def code_families(self, codes: Sequence[str]) -> list[str]:
        families = []
        for code in codes:
            for sourced in self.store.lookup_code(code):
                if sourced.fact.family and sourced.fact.code_set in ("CPT", "HCPCS"):
                    families.append(sourced.fact.family)
        return list(dict.fromkeys(families))

    def codes_for_words(self, words: Sequence[str], limit: int = 3) -> list[str]:
        """The procedure codes whose descriptors, family or lay terms hold the service's words."""
        if not words:
            return []
        hits = self.store.search_descriptors(_fts_query(words), limit=limit, code_sets=("CPT", "HCPCS"))
        return list(dict.fromkeys(s.fact.code for s, _ in hits))

    def match_policies(self, question: str, codes: Sequence[str]) -> list[tuple[Sourced[CoveragePolicy], MatchedBy]]:
        words = service_words(question)
        procedures = [c for c in codes if not re.match(r"^[A-Z]\d[0-9A-Z]\.", c)]
        expanded = procedures or self.codes_for_words(words)
        if self.store.has_code_lists() and expanded:
            by_code = self.policies_for_codes(expanded)
            if by_code:
                return by_code
        lowered = question.lower()
        for lay, title_words in SERVICE_TERMS.items():
            if re.search(rf"\b{lay}\b", lowered):
                titled = self.policies_by_title(title_words.split())
                if titled:
                    return [(s, "title") for s in titled]
        titled = self.policies_by_title(words)
        if titled:
            return [(s, "title") for s in titled]
        for family in self.code_families(expanded):
            in_family = self.policies_by_family(family)
            if in_family:
                return [(s, "family") for s in in_family]
        return []

    def policies_by_family(self, family: str) -> list[Sourced[CoveragePolicy]]:
        """Policies titled for a code family ("Percutaneous vertebral augmentation (kyphoplasty)"): its words
        without the parenthesis, or the title words of a lay name in it."""
        plain = re.sub(r"\([^)]*\)", " ", family.lower())
        tries = [[w for w in re.findall(r"[a-z0-9]+", plain) if w not in STOPWORDS]]
        tries += [words.split() for lay, words in SERVICE_TERMS.items() if re.search(rf"\b{lay}\b", family.lower())]
        for words in tries:
            found = self.policies_by_title(words)
            if found:
                return found
        return []

    # ------------------------------------------------------------ states

    def applies_in(self, sourced: Sourced[CoveragePolicy], state: str, macs: Sequence[MacJurisdiction]) -> bool:
        states = self.store.policy_states(sourced)
        if states:
            return state in states
        for name, kind in sourced.fact.contractors:
            for mac in macs:
                kinds = MAC_KINDS.get(mac.mac_type, ())
                if _same_contractor(name, mac.contractor) and (not kind or any(kind.startswith(k) for k in kinds)):
                    return True
        return False

    # ------------------------------------------------------------ the answer

    def find(self, question: str, codes: Sequence[str] = (), on: int | None = None) -> CoverageResult:
        """Coverage findings and the facts that answer ``question`` (``codes``: the valid codes it names)."""
        result = CoverageResult()
        if not self.loaded():
            return result
        on = on or today()
        result.named = list(dict.fromkeys(POLICY_ID.findall(question.upper()) + NCD_SECTION.findall(question)))
        result.state = find_state(question)
        if result.state:
            result.macs = [s.fact for s in self.store.jurisdictions(result.state)]
        if not (SERVICE_ASK.search(question) or codes or result.named or result.state):
            return result  # a question about coverage in general ("when is an ABN required?")
        mac_facts = self._mac_facts(result.state) if result.state else []
        result.facts += mac_facts
        if mac_facts and ASKS_FOR_MAC.search(question):
            result.whole = True  # "Which DME MAC covers Florida?" asks for the contractor, not for policies
            return result
        named_lcds = [p for p in result.named if POLICY_ID.fullmatch(p)]
        if named_lcds:
            self._named(named_lcds, result, on)
            return result
        ncds = self.match_ncds(question, codes)
        if ncds:
            for sourced in ncds[:2]:
                finding = self.finding(sourced, "ncd", on)
                result.ncds.append(finding)
                result.facts.append(self._ncd_fact(sourced, finding))
            return result
        matched = self.match_policies(question, codes)
        current, retired = self._current(matched, on)
        if result.state and current:
            local = [(s, how) for s, how in current if self.applies_in(s, result.state, result.macs)]
            if not local:
                result.facts += self._none_for_state(result, current, on)
                return result
            current = local
        if not current and not retired:
            if service_words(question) or codes:
                result.facts.append(self._nothing_found(question, result))
            return result
        lcds = [(s, how) for s, how in current if s.fact.doc_type == "LCD"]
        articles = sorted(((s, how) for s, how in current if s.fact.doc_type == "Article"),
                          key=lambda item: item[0].fact.title.lower().startswith("response to comments"))
        result.lcds = [self.finding(sourced, how, on) for sourced, how in lcds[:MAX_LCDS]]
        billing = [a for a in articles if not a[0].fact.title.lower().startswith("response to comments")] or articles
        result.articles = [self.finding(sourced, how, on) for sourced, how in billing[:MAX_ARTICLES]]
        if result.lcds:  # the LCDs are the answer: they lead, with the absence of an NCD; the state's MAC follows
            opening = f"{self._no_ncd_clause()}, so each MAC's LCD sets coverage"
            result.facts = [self._policies_fact("LCD", result.lcds, opening=opening,
                                                cited_too=(self._no_ncd_citation(),)), *result.facts]
        else:
            result.facts.append(self._no_ncd_fact(bool(current)))
        if result.articles:
            result.facts.append(self._policies_fact("billing article", result.articles))
        if not current:
            for sourced, _ in retired[:MAX_LCDS]:
                finding = self.finding(sourced, "title", on)
                result.retired.append(finding)
                result.facts.append(Fact(self._retired_sentence(finding), finding.citation))
        return result

    def _current(self, matched: Sequence[tuple[Sourced[CoveragePolicy], MatchedBy]], on: int):
        """One version per policy: the newest in effect on ``on``; retired policies apart; future versions only
        where nothing is in effect yet. Policies ordered newest first."""
        best: dict[str, tuple[Sourced[CoveragePolicy], MatchedBy, str]] = {}
        for sourced, how in matched:
            status = status_on(sourced.fact, on)
            rank = (status != "current", status == "future", DATASET_RANK.get(sourced.release.dataset, 9),
                    -_version_number(sourced.fact.version))
            held = best.get(sourced.fact.policy_id)
            if held is None or rank < (held[2] != "current", held[2] == "future",
                                       DATASET_RANK.get(held[0].release.dataset, 9),
                                       -_version_number(held[0].fact.version)):
                best[sourced.fact.policy_id] = (sourced, how, status)
        ordered = sorted(best.values(), key=lambda item: -(item[0].fact.effective_date or 0))
        current = [(s, how) for s, how, status in ordered if status == "current"]
        retired = [(s, how) for s, how, status in ordered if status == "retired"]
        return current, retired

    # ------------------------------------------------------------ sentences

    def _mac_facts(self, state: str) -> list[Fact]:
        rows = self.store.jurisdictions(state)
        if not rows:
            return []
        parts = [f"the {r.fact.mac_type} is {r.fact.contractor} (jurisdiction {r.fact.jurisdiction})" for r in rows]
        text = f"In {rows[0].fact.state_name}, {' and '.join(parts)}."
        snippet = "; ".join(",".join(str(v) for v in r.fact[:5]) for r in rows)
        return [Fact(text, reference_citation(rows[0], snippet, rows[0].fact.row))]

    def _ncd_fact(self, sourced: Sourced[CoveragePolicy], finding: PolicyFinding) -> Fact:
        policy = sourced.fact
        codes = policy.attributes.get("codes", [])
        text = (f"NCD {policy.policy_id} {policy.title} (a national coverage determination, effective "
                f"{format_date(policy.effective_date)}) sets Medicare coverage nationally: {policy.summary}"
                + (f" Codes it governs: {', '.join(codes)}." if codes else ""))
        return Fact(text, finding.citation, tuple(codes))

    def _no_ncd_clause(self) -> str:
        return (f"No NCD applies (none of the {len(self.ncds())} national coverage determinations in CasePilot's "
                "table is for this service)")

    def _no_ncd_fact(self, have_lcds: bool) -> Fact:
        tail = ("coverage is set by LCDs, the local coverage determinations of each Medicare administrative "
                "contractor (MAC), and their billing and coding articles" if have_lcds else
                "coverage would be set by the MACs' LCDs")
        text = (f"No NCD: CasePilot's table of {len(self.ncds())} national coverage determinations has none for this "
                f"service, so {tail}.")
        return Fact(text, self._no_ncd_citation())

    def _no_ncd_citation(self) -> Citation:
        """The NCD table, cited for having no NCD for the service (the coverage data itself when none is loaded)."""
        ncds = self.ncds()
        if ncds:
            return reference_citation(Sourced(None, ncds[0].release), f"{len(ncds)} NCDs; none for this service",
                                      None)
        source = self.store.releases()[self.store.coverage_datasets()[0]]
        return reference_citation(Sourced(None, source), "no NCD table loaded", None)

    @staticmethod
    def _policy_sentence(finding: PolicyFinding, policy: CoveragePolicy) -> str:
        kind = "LCD" if finding.doc_type == "LCD" else "Billing article" if not policy.title.lower().startswith(
            "response to comments") else "Article"
        how = {"code_list": " (its code list names the service's code)", "family": "", "title": "", "named": ""}
        dates = f"effective {format_date(finding.effective_date)}" if finding.effective_date else "no effective date"
        if finding.retirement_date:
            dates += f", to be retired {format_date(finding.retirement_date)}"
        return (f"{kind} {finding.policy_id} \"{finding.title}\" from {contractor_label(policy)}, version "
                f"{finding.version}, {dates}{how.get(finding.matched_by, '')}.")  # its URL travels in the citation

    @staticmethod
    def _policies_fact(kind: str, findings: Sequence[PolicyFinding], other_macs: bool = False, opening: str = "",
                       cited_too: tuple[Citation, ...] = ()) -> Fact:
        """The policies of one kind in one sentence, each id with its contractor and date, each cited by its own
        row: a coder scans ids and MACs, and a sentence per policy buried the answer. ``opening``: a clause the
        sentence starts with (why these policies decide), resting on ``cited_too``."""
        named = [f"{'LCD ' if kind == 'LCD' else ''}{f.policy_id} ({_contractor_names(f.contractors)}, "
                 f"effective {format_date(f.effective_date)}"
                 + ("; its code list names the service's code" if f.matched_by == "code_list" else "")
                 + (f", to be retired {format_date(f.retirement_date)}" if f.retirement_date else "") + ")"
                 for f in findings]
        titles = list(dict.fromkeys(f.title for f in findings))
        plural = "s" if len(findings) > 1 else ""
        whose = ("Other MACs'" if plural else "Another MAC's") if other_macs else "The"
        if opening:
            whose = f"{opening}; {whose[0].lower()}{whose[1:]}"
        text = (f"{whose} current {kind}{plural}: {'; '.join(named)}; titled \"{titles[0]}\""
                + (f" or similar ({len(titles) - 1} other title{'s' if len(titles) > 2 else ''})" if len(titles) > 1
                   else "") + ".")
        return Fact(text, findings[0].citation, also=(*(f.citation for f in findings[1:]), *cited_too))

    @staticmethod
    def _retired_sentence(finding: PolicyFinding) -> str:
        kind = "LCD" if finding.doc_type == "LCD" else "Article"
        contractors = ", ".join(finding.contractors) or "no contractor"
        when = format_date(finding.retirement_date) if finding.retirement_date else "a date the source does not give"
        return (f"{kind} {finding.policy_id} \"{finding.title}\" ({contractors}) was retired on {when} and is not "
                f"in effect; it is not a current policy.")

    def _named(self, ids: Sequence[str], result: CoverageResult, on: int) -> None:
        found = self.store.policies(ids)
        for policy_id in ids:
            versions: list[tuple[Sourced[CoveragePolicy], MatchedBy]] = [
                (s, "named") for s in found if s.fact.policy_id == policy_id]
            current, retired = self._current(versions, on)
            future = [s for s, _ in versions if status_on(s.fact, on) == "future"]
            if current:
                sourced = current[0][0]
                finding = self.finding(sourced, "named", on)
                (result.lcds if sourced.fact.doc_type == "LCD" else result.articles).append(finding)
                text = self._policy_sentence(finding, sourced.fact) + f" It is in effect on {format_date(on)}."
                result.facts.append(Fact(text, finding.citation))
            elif retired:
                finding = self.finding(retired[0][0], "named", on)
                result.retired.append(finding)
                result.facts.append(Fact(self._retired_sentence(finding), finding.citation))
            elif future:
                finding = self.finding(future[0], "named", on)
                result.facts.append(Fact(f"{finding.policy_id} \"{finding.title}\" is not in effect yet: it takes "
                                         f"effect on {format_date(finding.effective_date)}.", finding.citation))
            else:
                result.facts.append(self._nothing_found(policy_id, result, named=policy_id))

    def _none_for_state(self, result: CoverageResult, others, on: int) -> list[Fact]:
        macs = ", ".join(f"{m.contractor} ({m.jurisdiction})" for m in result.macs) or "its MAC"
        state = STATES.get(result.state or "", result.state)
        first = others[0][0]
        facts = [Fact(f"No current LCD or billing article matching this service from {state}'s MACs ({macs}) was "
                      f"found in the loaded coverage data; that is not a finding of non-coverage.",
                      reference_citation(Sourced(None, first.release), f"no matching policy for {state}", None))]
        elsewhere = [self.finding(sourced, how, on)
                     for sourced, how in [o for o in others if o[0].fact.doc_type == "LCD"][:MAX_OTHER_MACS]]
        if elsewhere:
            facts.append(self._policies_fact("LCD", elsewhere, other_macs=True))
        return facts

    def _nothing_found(self, question: str, result: CoverageResult, named: str | None = None) -> Fact:
        names = [self.store.releases()[n] for n in self.store.coverage_datasets() if n != "ncds"] or \
            [self.store.releases()[n] for n in self.store.coverage_datasets()]
        loaded = ", ".join(f"{r.dataset} {r.version}" for r in names)
        where = f" for {STATES.get(result.state, result.state)}" if result.state else ""
        subject = (f"{named} was not found" if named else
                   "No NCD, LCD or billing article matching this service was found")
        text = (f"{subject} in the loaded coverage data{where} ({loaded}). That is not a finding of non-coverage: "
                "whether Medicare pays depends on the benefit category, statutory exclusions and medical necessity, so "
                "check the MAC's current LCDs and articles or ask the MAC.")
        return Fact(text, reference_citation(Sourced(None, names[0]), f"no match in {loaded}", None))

    # ------------------------------------------------------------ code pages and claims

    def policies_for_code(self, code: str, on: int | None = None, limit: int = 12) -> list[PolicyFinding]:
        """The current LCDs and articles for one code: by code list when loaded, else by its family's title."""
        on = on or today()
        matched: list[tuple[Sourced[CoveragePolicy], MatchedBy]] = []
        if self.store.has_code_lists():
            matched = self.policies_for_codes([code])
        if not matched:
            for family in self.code_families([code]):
                matched = [(s, "family") for s in self.policies_by_family(family)]
                if matched:
                    break
        current, _ = self._current(matched, on)
        ncds = [(s, "ncd") for s in self.ncds() if code in s.fact.attributes.get("codes", [])]
        return [self.finding(s, how, on) for s, how in [*ncds, *current][:limit]]

    def diagnosis_verdicts(self, code: str, diagnosis: str, on: int | None = None) -> list[DiagnosisVerdict]:
        """For each current billing article whose HCPCS/CPT list names ``code``: is ``diagnosis`` on its covered
        or non-covered ICD-10-CM list? Empty when no article code lists are loaded."""
        on = on or today()
        diagnosis = normalize_icd10(diagnosis) if "." not in diagnosis and len(diagnosis) > 3 else diagnosis.upper()
        articles: list[tuple[Sourced[CoveragePolicy], MatchedBy]] = [
            (s, "code_list") for s in self.store.policies_listing(code) if s.fact.doc_type == "Article"]
        current, _ = self._current(articles, on)
        verdicts = []
        for sourced, _ in current:
            finding = self.finding(sourced, "code_list", on)
            rows = self.store.policy_codes(sourced, code=diagnosis)
            listed = next((r for r in rows if r.code_list in ("covered", "noncovered")), None)
            has_covered_list = bool(self.store.policy_codes(sourced, code_list="covered")[:1])
            if listed is not None:
                on_list = listed.code_list
                where = f"{'covered' if on_list == 'covered' else 'non-covered'} ICD-10-CM list (group {listed.group})"
                text = f"{diagnosis} is on the {where} of article {finding.policy_id} for {code}."
                table = "article_x_icd10_covered" if on_list == "covered" else "article_x_icd10_noncovered"
                finding.citation.locator = f"{table}.csv row {listed.row}"
            else:
                on_list = "not_listed"
                text = (f"{diagnosis} is not on article {finding.policy_id}'s covered ICD-10-CM list for {code}"
                        + ("" if has_covered_list else " (the article lists no covered diagnoses)") + ".")
            verdicts.append(DiagnosisVerdict(article=finding, code=code, diagnosis=diagnosis, on_list=on_list,
                                             group=listed.group if listed else None, explanation=text))
        return verdicts


def _contractor_names(contractors: Sequence[str]) -> str:
    """"CGS Administrators, LLC" once, not once for its Part A and once for its Part B contract."""
    names = dict.fromkeys(re.sub(r"\s*\(MAC[^)]*\)", "", c).strip() for c in contractors)
    return " / ".join(names) or "no contractor"


def _same_contractor(a: str, b: str) -> bool:
    def key(name: str) -> str:
        return re.sub(r"[^a-z]", "", re.split(r",|\binc\b|\bllc\b", name.lower())[0])
    return key(a) == key(b)


def _version_number(version: str) -> int:
    return int(version) if version.isdigit() else 0
