"""Guards for every generator (extractive or LLM), run on the sentences before they reach anyone.

- Code guard (:func:`guard_codes`): each code in an answer must exist in the reference data and appear in a
  citation of its sentence. A sentence with an unknown or ungrounded code is removed whole (never shown with a hole
  where its code was) and the code reported; deleted codes are flagged.
- Claim guard (:func:`guard_claims`, also run by ``guard_codes(..., store=...)``): a sentence that says something
  about a pair (an edit exists, or none), a modifier indicator, a unit limit or a code's status must agree with
  the exact facts in the reference store, else the whole sentence is removed (issue 15, finding 4: "there is no
  NCCI edit between 22511 and 22514" passed with a citation to the row saying the opposite). The statements are
  recognised by patterns; a pair statement is checked when its sentence names exactly two procedure codes, and
  against the table it names (practitioner or outpatient hospital), else every loaded table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.answer import Citation, CodeCheck, Sentence
from rag.codes import code_position, codes_in
from rag.exact import format_date

@dataclass
class Guarded:
    sentences: list[Sentence]
    removed: list[str] = field(default_factory=list)
    checks: dict[str, CodeCheck] = field(default_factory=dict)
    contradicted: list[Contradiction] = field(default_factory=list)  # sentences the claim guard removed


CODE_RANGE = re.compile(r"\b([A-Z0-9]{5})\s*(?:-|–|to|through)\s*([A-Z0-9]{5})\b")  # "22510-22515"
SAYS_DELETED = re.compile(r"\b(?:terminated|deleted|no longer valid)\b", re.I)  # the sentence already says so


def guard_codes(sentences: Sequence[Sentence], citations: Sequence[Citation],
                check: Callable[[str], CodeCheck], store=None, on: int | None = None) -> Guarded:
    """The code guard; with ``store`` (a ReferenceStore) the claim guard first (``on``: the date of service)."""
    by_marker = {c.marker: c for c in citations}
    result = Guarded(sentences=[])
    if store is not None:
        claims = guard_claims(sentences, store, on)
        sentences, result.contradicted = claims.sentences, claims.contradicted
    for sentence in sentences:
        text = sentence.text
        cited = [by_marker[m] for m in sentence.citations if m in by_marker]
        unfounded = []
        for code in codes_in(text):
            status = result.checks.get(code) or check(code)
            result.checks[code] = status
            grounded = any(code in c.codes or code in c.snippet for c in cited)
            # A row of the reference data may name a code of a set not loaded here (a deleted CPT code's HCPCS
            # replacement without the HCPCS file): read from the cited row, it is the source's, not invented.
            from_a_row = any(c.kind == "reference" and code in c.codes for c in cited)
            if not grounded or (status.status == "unknown" and not from_a_row):
                unfounded.append(code)
            elif status.status == "deleted" and not SAYS_DELETED.search(text):
                text += f" (Note: {code} was terminated on {format_date(status.termination_date)}.)"
        if unfounded:  # the whole sentence goes: a sentence with a hole where its code was says nothing true
            result.removed += unfounded
            continue
        result.sentences.append(sentence.model_copy(update={"text": text}))
    result.removed = list(dict.fromkeys(result.removed))
    return result


# ---------------------------------------------------------------- claims about the exact facts

NEGATION = re.compile(r"\b(no|not|never|cannot|can't|doesn't|does not|won't|isn't|aren't|nothing|neither|nor)\b",
                      re.IGNORECASE)
NO_EDIT = re.compile(r"\bno\s+(?:ncci\s+|ptp\s+|ncci\s+ptp\s+)?(?:edit|bundling|pair)|\bnot\s+bundled\b|"
                     r"\b(?:is|are)n'?t?\s+(?:an?\s+)?(?:ncci\s+|ptp\s+)*edit|\b(?:is|are)\s+not\s+(?:an?\s+)?"
                     r"(?:ncci\s+|ptp\s+)*edit|\bwithout\s+an?\s+(?:ncci\s+|ptp\s+)*edit|\bdoes\s+not\s+(?:have|list)\s+"
                     r"an?\s+(?:ncci\s+|ptp\s+)*edit|\bcan\s+be\s+(?:billed|reported)\s+together\b|\bnot\s+an?\s+"
                     r"(?:ncci\s+|ptp\s+)*edit", re.IGNORECASE)
# An edit is said to exist only in words about the pair itself (a modifier's description that mentions NCCI edits
# in general, next to two example codes, says nothing about those two).
HAS_EDIT = re.compile(r"\bedit\s+(?:between|pairs|for|on)\b|\bis\s+column\s+[12]\b|\bcannot\s+be\s+(?:billed|"
                      r"reported)\s+together\b|\bnot\s+paid\s+separately\s+(?:when\s+billed\s+)?with\b|"
                      r"\bbundled\s+(?:into|with)\b|\b(?:there\s+is|has|have)\s+an?\s+(?:ncci\s+)?(?:ptp\s+)?edit\b",
                      re.IGNORECASE)
INDICATOR = re.compile(r"\bindicator[\s-]*(?:of\s+|is\s+|=\s*|:\s*)?([0-9])\b|\b([0-9])[\s-]+indicator\b", re.IGNORECASE)
BYPASS = re.compile(r"\b(bypass(?:es|ed)?|overrides?|overridden|circumvents?|gets? around|allow(?:s|ed)? (?:the )?"
                    r"(?:codes?|pair|both) to be (?:billed|paid))\b", re.IGNORECASE)
NOT_BYPASSABLE = re.compile(r"\b(?:no|not|never|cannot|can't)\b[^.;]{0,40}\bbypass|\bnot allowed\b", re.IGNORECASE)
MUE_NUMBER = [
    re.compile(r"\bmues?\b[^.;]*?\b(?:is|of|=|:|at)\s*(\d{1,5})\b(?!\s*[-/.]\d)", re.IGNORECASE),
    re.compile(r"\b(?:up to|at most|maximum of|a maximum of|limit of|no more than|only)\s+(\d{1,5})\s+units?\b", re.IGNORECASE),
    re.compile(r"\b(\d{1,5})\s+units?\s+(?:per|a|each)\s+(?:day|date|line|claim|patient)\b", re.IGNORECASE),
    re.compile(r"\b(?:limited to|capped at)\s+(\d{1,5})\b", re.IGNORECASE),
]
DELETED = re.compile(r"\b(?:deleted|terminated|discontinued|retired|no longer (?:valid|active|in use|payable|"
                     r"reportable|exists?))\b", re.IGNORECASE)
NOT_DELETED = re.compile(r"\b(?:not|never|n't)\s+(?:been\s+)?(?:deleted|terminated|discontinued|retired)\b", re.IGNORECASE)
VALID = re.compile(r"\b(?:is|remains)\s+(?:still\s+)?(?:an?\s+)?(?:valid|active|current)\b", re.IGNORECASE)
UNKNOWN = re.compile(r"\b(?:does not exist|doesn't exist|is not a valid|isn't a valid|is invalid|not a real|"
                     r"is not a (?:cpt|hcpcs) code)\b", re.IGNORECASE)
# A status word belongs to the code it follows closely, within its clause, and not to an edit named after it.
CLAUSE_BREAK = re.compile(r";|,\s*(?:but|while|whereas|so)\b|\bbut\b|\bwhereas\b|\bedits?\b|\bpairs?\b",
                          re.IGNORECASE)
CLAUSE_CHARS = 80
TABLE_WORDS = {"ptp_hospital": re.compile(r"\b(?:hospital|outpatient|facility)\b", re.IGNORECASE),
               "ptp_practitioner": re.compile(r"\b(?:practitioner|physician|professional)\b", re.IGNORECASE)}
MUE_TABLE_WORDS = {"mue_hospital": TABLE_WORDS["ptp_hospital"], "mue_practitioner": TABLE_WORDS["ptp_practitioner"],
                   "mue_dme": re.compile(r"\b(?:dme|supplier)\b", re.IGNORECASE)}


@dataclass
class Contradiction:
    sentence: str
    reason: str


@dataclass
class ClaimsGuarded:
    sentences: list[Sentence]
    contradicted: list[Contradiction] = field(default_factory=list)


def _today() -> int:
    from datetime import date

    return int(date.today().strftime("%Y%m%d"))


class FactChecker:
    """Reads the exact facts the claim guard compares statements with (one ReferenceStore)."""

    def __init__(self, store, on: int | None = None):
        self.store, self.on = store, on or _today()

    def _tables(self, kind: str, text: str, words: dict[str, re.Pattern]) -> list[str]:
        loaded = [name for name in self.store.releases() if name.startswith(kind)]
        named = [name for name in loaded if name in words and words[name].search(text)]
        return named or loaded

    def edits(self, a: str, b: str, text: str) -> list:
        return [s.fact for name in self._tables("ptp_", text, TABLE_WORDS) for s in self.store.ptp_pair(a, b, name)]

    def mue_values(self, code: str, text: str) -> set[int] | None:
        """The MUE values of ``code`` in the tables the sentence names (or all); None if no MUE table is loaded."""
        tables = self._tables("mue_", text, MUE_TABLE_WORDS)
        if not tables:
            return None
        return {s.fact.value for name in tables for s in self.store.mue(code, name)}

    def status(self, code: str) -> str:
        from rag.exact import check_code

        return check_code(self.store, code).status


def _clauses(text: str, codes: Sequence[str]) -> dict[str, str]:
    """For each code, the words from its first mention to the next code or clause break."""
    positions = sorted((start, code) for code in codes if (start := code_position(text, code)) is not None)
    clauses = {}
    for index, (start, code) in enumerate(positions):
        end = positions[index + 1][0] if index + 1 < len(positions) else len(text)
        piece = text[start:end]
        cut = CLAUSE_BREAK.search(piece)
        clauses[code] = (piece[:cut.start()] if cut else piece)[:CLAUSE_CHARS]
    return clauses


def contradiction(text: str, facts: FactChecker) -> str:
    """Why ``text`` disagrees with the exact facts ("" when it agrees or says nothing checkable)."""
    codes = [c for c in codes_in(text) if not re.fullmatch(r"[A-Z]\d{2}\.\w+", c)]  # procedures, not diagnoses
    indicators = {int(a or b) for a, b in INDICATOR.findall(text)}
    if 0 in indicators and BYPASS.search(text) and not NOT_BYPASSABLE.search(text) and not NEGATION.search(text):
        return "a modifier never bypasses an edit with modifier indicator 0"
    if 1 in indicators and NOT_BYPASSABLE.search(text) and "0" not in {str(i) for i in indicators} \
            and re.search(r"\bno modifier\b|\bcannot be bypassed\b|\bnever bypass", text, re.IGNORECASE):
        return "an edit with modifier indicator 1 is bypassed by an NCCI-associated modifier"
    if len(codes) == 2 and (codes[0], codes[1]) not in {m.groups() for m in CODE_RANGE.finditer(text)}:  # a range
        a, b = codes
        edits = facts.edits(a, b, text)
        active = [e for e in edits if e.modifier_indicator != 9 and e.active_on(facts.on)]
        if NO_EDIT.search(text):
            if active:
                return f"the reference data has an NCCI PTP edit between {a} and {b}"
        elif HAS_EDIT.search(text) and not edits:
            return f"the reference data has no NCCI PTP edit between {a} and {b}"
        if indicators and edits and HAS_EDIT.search(text) and not indicators & {e.modifier_indicator for e in edits}:
            return f"the edit between {a} and {b} has modifier indicator " \
                   f"{', '.join(str(i) for i in sorted({e.modifier_indicator for e in edits}))}"
    if re.search(r"\bmues?\b|\bunits?\b", text, re.IGNORECASE) and codes:
        claimed = {int(m.group(1)) for pattern in MUE_NUMBER for m in pattern.finditer(text)}
        if claimed:
            values: set[int] = set()
            known = False
            for code in codes:
                found = facts.mue_values(code, text)
                if found is not None:
                    known = True
                    values |= found
            if known and not claimed & values:
                return f"the MUE of {', '.join(codes)} is " + (
                    ", ".join(str(v) for v in sorted(values)) if values else "not published")
    for code, clause in _clauses(text, codes).items():
        said_deleted = DELETED.search(clause) and not NOT_DELETED.search(clause)
        said_valid = VALID.search(clause) and not said_deleted
        said_unknown = UNKNOWN.search(clause)
        if not (said_deleted or said_valid or said_unknown):
            continue
        status = facts.status(code)
        if said_unknown and status != "unknown":
            return f"{code} is in the reference data ({status})"
        if said_deleted and status == "valid":
            return f"{code} is a current code in the reference data"
        if said_valid and not said_unknown and status != "valid":
            return f"{code} is {status} in the reference data"
    return ""


def guard_claims(sentences: Sequence[Sentence], store, on: int | None = None) -> ClaimsGuarded:
    """Removes every sentence whose statement about a pair (edit or none), a modifier indicator, a unit limit or
    a code's status disagrees with the exact facts in ``store`` (a ReferenceStore), whatever wrote it."""
    facts = FactChecker(store, on)
    result = ClaimsGuarded(sentences=[])
    for sentence in sentences:
        reason = contradiction(sentence.text, facts)
        if reason:
            result.contradicted.append(Contradiction(sentence.text, reason))
        else:
            result.sentences.append(sentence)
    return result
