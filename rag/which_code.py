"""Which code, from words: "dx code for asthma w/ exacerbation", "J code for Solu-Medrol 125 mg".

The question's words (abbreviations spelt out, the routing words taken off) go to code search in the code set
the question names (ICD-10-CM for dx/diagnosis/icd, HCPCS for j code/hcpcs, CPT for cpt), or in every set. The
answer leads with the best code and its descriptor, then at most two alternatives. ICD-10-CM answers give
billable codes: a category or header is named as not billable, with its billable children; the tabular
"use additional code" and "code also" notes and the 7th-character rule are stated where they apply. A drug
name reaches its HCPCS code through the project's brand/generic table, and a dose gives the units."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.abbreviations import expand
from rag.answer import CodeHit
from rag.case2code import LEXICALLY_CERTAIN, CodeSearch, reading_match
from rag.drugs import Dose, DoseError, DrugTable, code_lines_for_dose, load_drug_table, parse_doses, units_for
from rag.findings.codes import CODE_SET_LABELS, code_citation, describe, to_compare
from rag.findings.common import CodeToCompare, Fact
from rag.findings.mue import mue_citation, mue_finding, mue_sentence
from rag.lay_words import clinical_reading
from rag.stores.reference import ReferenceStore, Sourced
from rag.stores.schema import CodeRecord

CODE_SET_HINTS = (
    ("ICD10CM", re.compile(r"\b(dx|icd[- ]?10(?:[- ]?cm)?|icd|diagnos[ie]s|diagnosis code|diag|z[- ]?codes?)\b", re.I)),
    ("HCPCS", re.compile(r"\b(hcpcs|j[- ]?codes?|level ii|drug code|dme code|supply code)\b", re.I)),
    ("CPT", re.compile(r"\b(cpt|procedure code)\b", re.I)),
)
WHICH_CODE = re.compile(
    r"\b(?:(?:which|what)\s+(?:\w+\s+){0,3}codes?\b(?!\s+(?:gets?|is paid|pairs?))|codes?\s+(?:for|to use|describes?)\b|"
    r"how (?:do|should|would) (?:i|we|you) code\b|what do (?:i|we) bill for\b|(?:dx|icd|icd-?10(?:-?cm)?|hcpcs|cpt|"
    r"j[- ]?)codes?\s+(?:for|of)?\b|\bhcpcs\s+level\s+(?:ii|2)\s+codes?\b|^\s*(?:dx|icd-?10(?:-?cm)?|diagnosis)\b)",
    re.I)
ROUTING = re.compile(
    r"\b(icd[- ]?10(?:[- ]?cm)?|j[- ]?codes?|z[- ]?codes?|what|which|is|are|the|a|an|do|does|i|we|you|bill|billed|"
    r"use|code|codes|"
    r"coding|for|of|to|me|please|dx|icd|cm|hcpcs|cpt|diagnosis|diagnoses|procedure|correct|"
    r"how|should|would|can|could|report|reported|find|give|tell|need|there|it|this|that|s|quick|question)\b|[?!.,:;]",
    re.I)
ALTERNATIVES = 2
ALTERNATIVE_MATCH = 0.75  # an alternative must match the question about as well as the lead does
ALTERNATIVE_FLOOR = 0.75  # and match it well in itself ("screening for lipoid disorders" is no rival to Z12.11)
NOTE_CHARS = 220


@dataclass
class WhichCodeResult:
    facts: list[Fact] = field(default_factory=list)
    compare: list[CodeToCompare] = field(default_factory=list)  # other codes named after the answer
    codes: list[str] = field(default_factory=list)  # the codes the answer names, best first
    query: str = ""
    code_sets: list[str] | None = None
    match: float = 0.0  # how well the lead code's descriptor matches the words (rag.case2code.reading_match)
    typo: bool = False  # a drug name matched only with a typo tolerated


def _as_typed(question: str, words: str) -> str:
    """The matched drug name as the question spells it ("Solu-Medrol", not "solu medrol")."""
    pattern = r"[\s-]*".join(re.escape(w) for w in words.split())
    found = re.search(pattern, question, re.I)
    return found.group(0) if found else words


def _dose_words(dose: Dose) -> str:
    """The dose as the question wrote it ("40mg"), else as parsed ("40 mg")."""
    return dose.text or f"{dose.amount:g} {dose.unit}"


def _clause(text: str) -> str:
    """A descriptor as a clause inside a sentence: no closing full stop of its own."""
    return text.strip().rstrip(".")


def wanted_code_sets(question: str) -> list[str] | None:
    sets = [name for name, pattern in CODE_SET_HINTS if pattern.search(question)]
    return sets or None


QUESTION_WORDS = re.compile(r"\b(how|when|why|what|whats|which|who|can|could|does|do|is|are|should|may|must|"
                            r"difference|vs|versus|rule|rules|guideline|guidelines|policy|mean|meaning)\b", re.I)
SHORT_PHRASE_WORDS = 14  # a description without question words, as long as the answer repeats
QUALITY_MEASURE = re.compile(r"^G[89]\d{3}$")  # HCPCS quality-data codes: the answer only when asked for
# HCPCS Level II describes what CPT does not (CMS): a CPT code about as close to the words leads a Level II one,
# unless Medicare's own G-codes are what the words ask for. S-codes are private payers' codes, Medicare does not
# accept them: they give way from further back.
LEVEL_II_WORDS = re.compile(r"\b(medicare|cms|g[- ]?codes?|hcpcs|level ii|s[- ]?codes?|private payers?)\b", re.I)
MEDICARE = re.compile(r"\b(medicare|cms)\b", re.I)
CPT_FIRST_MARGIN = {"S": 0.008}
CPT_FIRST_DEFAULT_MARGIN = 0.004
# "Injection administration" asks for the service; a J-code (or a Q- or S-code "Injection, <drug>") bills the drug
# given, so it answers only when the words name the drug (then the drug table answers first).
ADMINISTRATION = re.compile(r"\badmin(?:istration|istered|ister)?\b", re.I)
DRUG_SUPPLY = re.compile(r"^J\d{4}$")
ADMINISTERED_FAMILY = re.compile(r"injection|infusion", re.I)  # CPT families whose codes bill giving a drug


def is_drug_supply(hit: CodeHit) -> bool:
    """A J-code, or a Level II code billing an injected drug ("Injection, interferon beta-1a" is Q3027)."""
    return bool(DRUG_SUPPLY.match(hit.code)) or (hit.code_set == "HCPCS"
                                                 and hit.description.lower().startswith("injection,"))


# Words that say a phrase names a service (a procedure, test, drug or supply) or a condition. With no code set
# named, they break the tie between the best diagnosis and the best service code: "trigger finger release" is the
# release, "kidney stone" the condition, "high blood pressure" the diagnosis, not a blood pressure cuff.
SERVICE_WORDS = re.compile(
    r"\b(\w+(?:ectomy|otomy|ostomy|plasty|scopy|graphy|centesis|pexy|rrhaphy)|release|repair|removal|remove|"
    r"excision|incision|drainage|i&d|injection|inj|admin\w*|infusion|shot|vaccine|test|testing|panel|screen\w*|"
    r"visit|exam|evaluation|eval|x-?ray|mri|ct|ultrasound|biopsy|replacement|implant\w*|insertion|therapy|"
    r"therapeutic|exercise|venipuncture|ecg|ekg|echo\w*|transport|ambulance|strips?|supply|supplies|collection|"
    r"a1c|cbc|lipid|culture|mammogram|dxa|dexa|scan|colonoscopy|polypectomy|debridement|reduction|fixation|anesthesia|"
    r"level|mdm|count|assay|measurement|monitoring|per \d+|\d+\s*(?:mg|mcg|ml|units?|min))\b", re.I)
CONDITION_WORDS = re.compile(
    r"\b(\w+(?:itis|osis|emia|algia|oma|pathy|uria)|pain|ache|disease|disorder|syndrome|infection|fracture|"
    r"stones?|pressure|sugar|fatigue|fatique|dizziness|nausea|cough|fever|rash|eye|throat|diabetes|dm\d?|"
    r"htn|hypertension|asthma|copd|failure|deficiency|obesity|encounter|history|hx|long term use|status|"
    r"presence|exposure|sprain|strain|injury|wound|laceration|abnormal|elevated|low|high)\b", re.I)
# ICD-10-CM's own phrasing of a reason for an encounter or a status (Z codes): a diagnosis code is asked for,
# whatever service the words name ("encounter for screening colonoscopy" is Z12.11, "long term use of insulin" Z79.4).
Z_CODE_PHRASE = re.compile(r"\b(?:encounter for|(?:personal |family )?history of|long[- ]term (?:\(current\) )?use of|"
                           r"status post)\b", re.I)
KIND_AGREEMENT = 0.2
EXACT_NAME = 100  # rag.drugs.DrugMatch.score of a name matched letter for letter
CLOSE_DESCRIPTOR = 0.85
OWN_DESCRIPTOR = 0.95


def phrase_kind(words: str) -> str | None:
    """"service", "diagnosis", or None when the words say neither or both as much."""
    service, condition = len(SERVICE_WORDS.findall(words)), len(CONDITION_WORDS.findall(words))
    if service == condition:
        return None
    return "service" if service > condition else "diagnosis"


def asks_which_code(question: str) -> bool:
    """A request for a code, or a bare description a coder types to find one ("pink eye", "toradol 30mg")."""
    if WHICH_CODE.search(question) or Z_CODE_PHRASE.match(question.strip()):
        return True  # a phrase in ICD-10-CM's own wording ("encounter for ...") is one at any length
    return len(question.split()) <= SHORT_PHRASE_WORDS and not QUESTION_WORDS.search(question) \
        and not TWO_SERVICES.search(question)


# Two services on one day, or one inside another's global period, is a billing question (which modifier, whether
# both are paid), not one service's code: "preventive visit plus problem visit same day medicare", "unrelated E/M
# in global period".
TWO_SERVICES = re.compile(r"\bsame (?:day|date|visit|encounter|session)\b|\b(?:billed|bill) together\b|"
                          r"\b(?:global|post-?op(?:erative)?) period\b", re.I)


def description_words(question: str) -> str:
    """The words that describe the service or condition: abbreviations spelt out, routing words removed."""
    return " ".join(ROUTING.sub(" ", expand(question)).split())


def _only_asks(words: str) -> bool:
    """Whether words before a pasted descriptor only ask for its code ("what is the hcpcs level ii code for")."""
    return not REQUEST_EXTRA.sub(" ", description_words(words)).split()


REQUEST_EXTRA = re.compile(r"\b(?:level|ii|2|long|short|descriptor|description|official|title)\b", re.I)


def asked_phrase(question: str) -> str:
    """The description as the question puts it, for the answer to repeat: from its first to its last word that is
    not a routing word, so the words between keep their "of" ("dx code for pocket of pus of left armpit?" ->
    "pocket of pus of left armpit", where code search gets "pocket pus left armpit")."""
    text = expand(question)
    routed = [found.span() for found in ROUTING.finditer(text)]
    kept = [word for word in re.finditer(r"[\w'&/+-]+", text)
            if not any(start <= word.start() and word.end() <= end for start, end in routed)]
    if not kept:
        return description_words(question)
    if len(kept) > 1 and CONNECTIVE.fullmatch(kept[-1].group()):
        # "with interpretation and report": "report" is a routing word elsewhere, here the phrase's last word
        following = re.compile(r"\s+[\w'&/+-]+").match(text, kept[-1].end())
        kept[-1] = following if following else kept[-2]
    end = kept[-1].end()
    while end < len(text) and text[end] in ")]\"'":  # "tympanostomy (ear tubes)?" keeps its bracket
        end += 1
    phrase = text[kept[0].start():end]
    if len(phrase.split()) > ECHOED_WORDS or re.search(r"[.;:!?]", phrase):
        return PASTED  # a pasted descriptor is not repeated: its full stops would break the sentence
    balanced = phrase.count("(") == phrase.count(")") and phrase.count("[") == phrase.count("]")
    return phrase if balanced else description_words(question)


CONNECTIVE = re.compile(r"and|or|with|without|w/|w/o|&|plus|in|on|at|by|from|into|per", re.I)
ECHOED_WORDS = 14
PASTED = "the description as typed"


class WhichCode:
    def __init__(self, store: ReferenceStore, search: CodeSearch, drugs: DrugTable | None = None):
        self.store, self.search = store, search
        self._drugs = drugs

    @property
    def drugs(self) -> DrugTable:
        if self._drugs is None:
            self._drugs = load_drug_table()
        return self._drugs

    def drug_facts(self, question: str) -> WhichCodeResult | None:
        """A drug named by brand or generic: its HCPCS code(s); a dose in the question gives the units."""
        matches = self.drugs.resolve(question)
        if not matches:
            return None
        match = matches[0]
        result = WhichCodeResult(query=match.name, code_sets=["HCPCS"], match=1.0, typo=match.score < EXACT_NAME)
        doses = parse_doses(question)
        candidates = [c for c in match.codes if c.active] or list(match.codes)
        try:
            lines = code_lines_for_dose(candidates, doses[0]) if doses else []
        except DoseError:  # a dose in a unit none of the drug's codes is billed in: the codes, without units
            lines = []
        others: list[Sourced[CodeRecord]] = []
        lead: CodeRecord | None = None
        dosed = [line.code for line in lines]  # a dose names the strengths it is billed in: those lead
        candidates = [*dosed, *(c for c in candidates if c not in dosed)]
        for drug in candidates[:1 + ALTERNATIVES]:
            found = [s for s in self.store.lookup_code(drug.hcpcs) if s.fact.code_set == "HCPCS"]
            if not found:
                continue
            sourced = found[0]
            named = f"{_as_typed(question, match.text)} ({drug.generic})" if match.kind == "brand" else drug.generic
            line = next((ln for ln in lines if ln.code.hcpcs == drug.hcpcs), None)
            if not result.codes:
                text = f"The HCPCS code for {named} is {drug.hcpcs}: {_clause(describe(sourced.fact))}."
                if line is not None:
                    text += (f" A {_dose_words(doses[0])} dose is {line.units} "
                             f"unit{'s' if line.units != 1 else ''} of {drug.hcpcs} ({drug.per_label} a unit).")
            elif line is not None:  # the dose needs this strength too (120 mg = 80 mg + 40 mg)
                text = (f"The {_dose_words(doses[0])} dose also takes {line.units} "
                        f"unit{'s' if line.units != 1 else ''} of {drug.hcpcs}: {_clause(describe(sourced.fact))}.")
            else:
                others.append(sourced)
                result.codes.append(drug.hcpcs)
                continue
            result.facts.append(Fact(text, code_citation(sourced), (drug.hcpcs,)))
            result.codes.append(drug.hcpcs)
            lead = lead or sourced.fact
            if line is not None and len(result.codes) == 1:
                for limit in self.store.mue(drug.hcpcs):
                    finding = mue_finding(limit)
                    result.facts.append(Fact(mue_sentence(finding, line.units), mue_citation(limit), (drug.hcpcs,)))
        if lead is not None:  # the drug's other strengths, to compare, each cited by its row
            result.compare = [to_compare(s, lead) for s in others]
        return result if result.facts else None

    def dose_facts(self, question: str, codes: list[str]) -> list[Fact]:
        """Units from a dose for named HCPCS drug codes: "Toradol 60 mg, how many units of J1885?" -> 4 units."""
        doses = parse_doses(question)
        if not doses:
            return []
        facts = []
        for code in codes:
            drugs = self.drugs.by_code(code)
            found = [s for s in self.store.lookup_code(code) if s.fact.code_set == "HCPCS"]
            if not drugs or not found:
                continue
            try:
                units = units_for(doses[0], drugs[0])
            except DoseError:
                continue
            facts.append(Fact(f"A {_dose_words(doses[0])} dose is {units} unit{'s' if units != 1 else ''} of {code} "
                              f"({_clause(describe(found[0].fact))}: {drugs[0].per_label} a unit).",
                              code_citation(found[0]), (code,)))
        return facts

    def answer(self, question: str) -> WhichCodeResult:
        query = description_words(question)
        code_sets = wanted_code_sets(question) or (["ICD10CM"] if Z_CODE_PHRASE.search(question) else None)
        typed = [hit for hit in self.search.typed_descriptor(question, code_sets, request=_only_asks)
                 if self._billable(hit.code)]
        # A drug name is answered with its HCPCS code unless another code set was asked for ("Z code for
        # long-term insulin use" is Z79.4, not the insulin J-code), or a descriptor was typed in full.
        drug = self.drug_facts(question) if (not code_sets or "HCPCS" in code_sets) and not typed else None
        hits = None
        if drug is not None:
            if not drug.typo:
                return drug
            # A drug name matched only as a typo ("chloroprocaine" read as chlorpromazine) gives way to a code
            # whose descriptor the words match closely: the coder typed the descriptor, not a misspelt brand.
            hits = self._candidates(query, code_sets)
            if not (hits and reading_match(query, [hits[0].description]) >= CLOSE_DESCRIPTOR):
                return drug
        result = WhichCodeResult(query=query, code_sets=code_sets)
        if len(query) < 3:
            return result
        hits = unspecified_twin_first(query, self._candidates(query, code_sets) if hits is None else hits)
        if typed:
            hits = [typed[0], *(h for h in hits if h.code != typed[0].code)]
        best: list[Sourced[CodeRecord]] = []
        for hit in hits:
            found = [s for s in self.store.lookup_code(hit.code) if s.fact.code_set == hit.code_set]
            if found:
                best.append(found[0])
            if len(best) == 1 + ALTERNATIVES:
                break
        if not best:
            return result
        lead = best[0]
        result.match = reading_match(query, [describe(lead.fact)])
        facts, named_codes = self._lead_facts(query, lead, typed=bool(typed) and lead.fact.code == typed[0].code,
                                              asked=asked_phrase(question))
        result.facts += facts
        result.codes += named_codes
        if (supply := self._drug_supplied(query, lead)) is not None:
            result.facts.append(Fact(f"The drug itself is billed with {supply.fact.code}: "
                                     f"{_clause(describe(supply.fact))}.", code_citation(supply), (supply.fact.code,)))
            result.codes.append(supply.fact.code)
        floor = max(ALTERNATIVE_MATCH * result.match, ALTERNATIVE_FLOOR)
        alternatives = [s for s in best[1:] if s.fact.code not in result.codes and self._billable(s.fact.code)
                        and (code_sets or s.fact.code_set == lead.fact.code_set)
                        and not s.fact.code.startswith(lead.fact.code)
                        and reading_match(query, [describe(s.fact)]) >= floor][:ALTERNATIVES]
        result.compare = [to_compare(s, lead.fact) for s in alternatives]
        result.codes += [s.fact.code for s in alternatives]
        return result

    def _drug_supplied(self, query: str, lead: Sourced[CodeRecord]) -> Sourced[CodeRecord] | None:
        """For "B12 shot" answered with the injection's administration (96372), the drug's own code (J3420): a
        claim for a shot has both lines. Only a drug code the words name closely (its descriptor or search term)."""
        if lead.fact.code_set != "CPT" or not ADMINISTERED_FAMILY.search(lead.fact.family or ""):
            return None
        hits = [h for h in self.search.search(query, limit=3, code_sets=["HCPCS"], semantic=False)
                if is_drug_supply(h) and h.status == "valid"]
        if not hits or reading_match(query, self.search.texts(hits[0].code)) < LEXICALLY_CERTAIN:
            return None
        found = [s for s in self.store.lookup_code(hits[0].code) if s.fact.code_set == "HCPCS"]
        return found[0] if found else None

    def _billable(self, code: str) -> bool:
        """Not an ICD-10-CM category or header (R51 "Headache" is answered by R51.9, not by its own title)."""
        return all(s.fact.attributes.get("billable", True) for s in self.store.lookup_code(code)
                   if s.fact.code_set == "ICD10CM")

    def _candidates(self, query: str, code_sets: list[str] | None):
        """Current codes for the words, best first. With no code set named, a diagnosis and a service are
        searched apart and the set whose best code matches the words better leads (one fused list lets a
        quality-measure G-code that repeats the words outrank the diagnosis)."""
        asked_quality = bool(re.search(r"\b(quality|measure|mips|pqrs)\b", query, re.I))

        def usable(hits):
            # A quality-measure G-code answers only when asked for, or when the words are its own descriptor.
            return [h for h in hits if h.status == "valid" and (asked_quality or not QUALITY_MEASURE.match(h.code)
                                                                or reading_match(query, [h.description])
                                                                >= OWN_DESCRIPTOR)]

        if code_sets:
            return cpt_first(query, usable(self.search.search(query, limit=8, code_sets=code_sets)))
        kind = phrase_kind(query)

        def strength(hits) -> float:
            diagnosis = hits[0].code_set == "ICD10CM"
            agrees = (kind == "diagnosis") == diagnosis if kind else False
            # Matched against all its words, the tabular's other names included ("high blood pressure" at I10).
            return reading_match(query, self.search.texts(hits[0].code) or [hits[0].description]) \
                + KIND_AGREEMENT * agrees

        # The side the words lean to is searched first; when its best code matches them closely and
        # agrees with that lean, the other side cannot do better and is not searched (it costs a query embedding).
        order = [["CPT", "HCPCS"], ["ICD10CM"]] if kind == "service" else [["ICD10CM"], ["CPT", "HCPCS"]]
        groups = []
        for sets in order:
            hits = cpt_first(query, usable(self.search.search(query, limit=8, code_sets=sets)))
            if hits:
                groups.append(hits)
            if kind and groups and strength(groups[0]) >= LEXICALLY_CERTAIN + KIND_AGREEMENT:
                break
        if not groups:
            return []
        groups.sort(key=strength, reverse=True)
        return groups[0]

    def _lead_facts(self, query: str, sourced: Sourced[CodeRecord], typed: bool = False, asked: str = "",
                    sequenced: bool = False) -> tuple[list[Fact], list[str]]:
        """The best code first; for an ICD-10-CM category or header, its best billable code, then the header named
        as not billable with its other billable codes. ``sequenced``: the code is already the one a "code first"
        note put ahead of the best match."""
        record = sourced.fact
        label = CODE_SET_LABELS.get(record.code_set, record.code_set)
        header: Sourced[CodeRecord] | None = None
        children: list[Sourced[CodeRecord]] = []
        if record.code_set == "ICD10CM" and record.attributes.get("billable") is False:
            children = [s for s in self.store.descendants(record.code, "ICD10CM") if s.fact.attributes.get("billable")]
            if children:
                header = sourced
                plain = _says_only(query, header.fact)
                ranked = sorted(children, key=lambda s: -(reading_match(query, [describe(s.fact)])
                                                          + _unspecified_preference(plain, s.fact)))
                sourced, children = ranked[0], [c for c in children if c is not ranked[0]]
                record = sourced.fact
        chain = self._chain(sourced) if record.code_set == "ICD10CM" else []
        # "type 2 diabetes with diabetic CKD stage 3b": N18.32's "code first" note names E11.22, which the words
        # name too; the combination's first code leads, and its own note then adds N18.32
        leads_instead = bool(chain) and not typed and header is None and not sequenced
        if leads_instead and (first := self._combination_code(query, sourced, [
                str(note) for level in chain for note in level.fact.attributes.get("code_first") or []])):
            return self._lead_facts(query, first, asked=asked, sequenced=True)
        asked = "the descriptor as typed" if typed else asked or query  # a pasted descriptor is not echoed
        facts = [Fact(f"The {label} code for {asked} is {record.code}: {_clause(describe(record))}.",
                      code_citation(sourced), (record.code,))]
        named = [record.code]
        if header is not None:
            shown = children[:3]
            text = (f"{header.fact.code} ({_clause(describe(header.fact))}) is a header, not billable; its other "
                    f"billable codes: " + "; ".join(f"{c.fact.code} {_clause(describe(c.fact))}" for c in shown)
                    + ("; and more" if len(children) > len(shown) else "") + ".")
            citation = code_citation(header)
            citation.codes = [header.fact.code, *(c.fact.code for c in shown)]
            citation.snippet = " | ".join(f"{c.fact.code} {describe(c.fact)}" for c in [header, *shown])[:400]
            facts.append(Fact(text, citation, tuple(citation.codes)))
            named += citation.codes
        if chain:
            notes, second = self._icd_notes(sourced, query, chain, code_first_read=leads_instead)
            facts += notes
            named += second
        return facts, named

    def _icd_notes(self, sourced: Sourced[CodeRecord], query: str, chain: list[Sourced[CodeRecord]],
                   code_first_read: bool = False) -> tuple[list[Fact], list[str]]:
        """The tabular notes of the code and its parents (``chain``) that change what is reported with it, and the
        second code of the combination when the words name it (codes named besides the lead). ``code_first_read``:
        the "code first" notes were already searched for a code the words name, and named none."""
        facts: list[Fact] = []
        second: list[str] = []
        for key, lead in (("use_additional_code", "Use additional code"), ("code_also", "Code also"),
                          ("code_first", "Code first")):
            for level in chain:
                notes = level.fact.attributes.get(key)
                if notes:
                    note = _note_text([str(n) for n in notes])
                    cited = code_citation(level, note)
                    combined = None if key == "code_first" and code_first_read else \
                        self._combination_code(query, sourced, [str(n) for n in notes])
                    if combined is not None and combined.fact.code not in second:
                        text = (f"Report {combined.fact.code} ({_clause(describe(combined.fact))}) first, then "
                                f"{sourced.fact.code}, as the tabular note at {level.fact.code} directs."
                                if key == "code_first" else
                                f"Report {combined.fact.code} ({_clause(describe(combined.fact))}) with "
                                f"{sourced.fact.code} as well, as the tabular note at {level.fact.code} directs.")
                        facts.append(Fact(text, code_citation(combined), (combined.fact.code, sourced.fact.code),
                                          also=(cited,)))
                        second.append(combined.fact.code)
                    facts.append(Fact(f"{lead} (tabular note at {level.fact.code}): {note.rstrip('.')}.",
                                      cited, (level.fact.code,)))
                    break
        for level in chain:
            seventh = level.fact.attributes.get("seventh_characters")
            if seventh:
                values = "; ".join(f"{k} {' '.join(str(v).split())}" for k, v in list(seventh.items())[:4]) \
                    if isinstance(seventh, dict) \
                    else str(seventh)[:200]
                facts.append(Fact(f"{level.fact.code} codes need a 7th character ({values}); use the placeholder X "
                                  f"where the code has fewer than six characters.",
                                  code_citation(level, values), (level.fact.code,)))
                break
        return facts, second

    def _chain(self, sourced: Sourced[CodeRecord]) -> list[Sourced[CodeRecord]]:
        """The code and its parents, up to the category (notes at any level apply to the codes below)."""
        chain = [sourced]
        parent = sourced.fact.attributes.get("parent")
        while parent and len(chain) < 4:
            found = [s for s in self.store.lookup_code(parent) if s.fact.code_set == "ICD10CM"]
            if not found:
                break
            chain.append(found[0])
            parent = found[0].fact.attributes.get("parent")
        return chain

    def _combination_code(self, query: str, lead: Sourced[CodeRecord], notes: list[str]
                          ) -> Sourced[CodeRecord] | None:
        """The code a "use additional code" or "code also" note asks for, when the words name it: "hypertension
        with chronic kidney disease stage 3" is I12.9 and, by its note's N18.1-N18.4, N18.30. A candidate is
        named when every word that sets it apart from the note's other codes is in the question (its stage,
        its organism)."""
        asked = _marks(query) | _marks(clinical_reading(query))
        candidates = [c for c in self._note_codes(notes) if c.fact.code != lead.fact.code]
        if not asked or len(candidates) < 2:
            return None
        marks = {c.fact.code: _marks(describe(c.fact)) for c in candidates}
        shared = set.intersection(*marks.values())
        # The lead's title and the note's words describe the combination, not which code of the note's list it
        # is: they are no evidence for one ("malignant neoplasm" names every Z80 code beside Z12.12). Its numbers
        # can be: I12.0 is "stage 5 ... or end stage renal disease", and the note asks which (N18.5 or N18.6).
        lead_marks = _marks(RANGE_WORDS.sub(" ", describe(lead.fact)))
        explained = {m for m in lead_marks if not m.isdigit()} | _marks(" ".join(notes))
        named = []
        for candidate in candidates:
            own = marks[candidate.fact.code] - shared - FREE_MARKS
            numbers = {m for m in own if m.isdigit()}
            # every number it has ("type 2", "stage 3"), and nearly every word ("mellitus" is seldom typed)
            said = own & asked
            if own and numbers <= asked and len(said) >= NOTE_WORDS_SAID * len(own) and said - explained:
                named.append(candidate)
        if not named:
            return None
        # the code whose own words the lead does not already say ("3b", not the "2" of "type 2"), then the fuller
        return max(named, key=lambda c: (len((marks[c.fact.code] - shared) & asked - lead_marks),
                                         len(marks[c.fact.code] - shared - FREE_MARKS),
                                         reading_match(query, [describe(c.fact)])))

    def _note_codes(self, notes: list[str]) -> list[Sourced[CodeRecord]]:
        """The billable codes a tabular note names: single codes, ranges (N18.1-N18.4) and categories (H72.-)."""
        found: dict[str, Sourced[CodeRecord]] = {}
        for note in notes:
            for match in NOTE_CODE.finditer(note):
                first, last = match.group("first"), match.group("last")
                if last:
                    rows = self.store.codes_between(first, last, "ICD10CM", limit=NOTE_CODES_MAX)
                else:
                    rows = [s for s in self.store.lookup_code(first) if s.fact.code_set == "ICD10CM"]
                    rows += self.store.descendants(first, "ICD10CM", limit=NOTE_CODES_MAX)
                for row in rows:
                    if row.fact.attributes.get("billable", True) and not row.fact.termination_date:
                        found.setdefault(row.fact.code, row)
        return list(found.values())[:NOTE_CODES_MAX]


UNSPECIFIED_PREFERENCE = 0.1
NOTE_CODE = re.compile(r"\b(?P<first>[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\.?-(?![A-Z]\d)|"
                       r"\s*-\s*(?P<last>[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?))?")
NOTE_CODES_MAX = 60  # a note naming a whole chapter's codes sets nothing apart
NOTE_WORDS_SAID = 0.75
RANGE_WORDS = re.compile(r"\b[a-z]*\s*\d+\w*\s+(?:through|to)\s+[a-z]*\s*\d+\w*", re.I)
FREE_MARKS = {"unspecified", "other", "specified", "and", "or", "with", "without", "of", "the", "in", "to", "for"}


def _marks(text: str) -> set[str]:
    """The words and numbers that can tell codes apart, lower-case ("stage 3a" keeps "3a"). Words in brackets are
    the tabular's nonessential modifiers ("stage 4 (severe)" is stage 4 however it is worded), or code references."""
    text = re.sub(r"\([^)]*\)", " ", text.lower())
    return set(re.findall(r"[a-z0-9]+", expand(text).lower()))


def _says_only(query: str, header: CodeRecord) -> bool:
    """The words, as typed or in the code sets' words, say no more than the header's title ("low back pain" at
    M54.5, "sudden kidney failure" at N17)."""
    title = set(re.findall(r"[a-z0-9]+", describe(header).lower()))
    return any(set(re.findall(r"[a-z0-9]+", words.lower())) <= title for words in (query, clinical_reading(query)))


def _unspecified_preference(plain: bool, child: CodeRecord) -> float:
    """Words that say no more than the header's title (``plain``) are coded to its unspecified child (M54.50),
    never to "Other ..." (M54.59 is for a documented kind the list does not name)."""
    if not plain:
        return 0.0
    title = describe(child).lower()
    return UNSPECIFIED_PREFERENCE if "unspecified" in title else -UNSPECIFIED_PREFERENCE if title.startswith(
        "other") else 0.0


def _note_text(items: list[str]) -> str:
    """A tabular note's items as one clause, whole items only ("code to identify: eosinophilic asthma (J82.83);
    exposure to ... (Z77.22); and 5 more"): cutting an item would leave a phrase without its code."""
    text = ""
    for shown, item in enumerate(items):
        item = item.strip().rstrip(".;")
        joined = item if not text else f"{text} {item}" if text.endswith(":") else f"{text}; {item}"
        if text and len(joined) > NOTE_CHARS:
            return f"{text}; and {len(items) - shown} more in the tabular"
        text = joined
    return text


def unspecified_twin_first(query: str, hits: list[CodeHit]) -> list[CodeHit]:
    """"Other fracture of right femur" is for a documented kind the list does not name: words that name no kind
    ("broken right thigh bone") take its twin "Unspecified fracture of right femur" when it is close behind."""
    if not hits or hits[0].code_set != "ICD10CM" or re.search(r"\bother\b", query, re.I):
        return hits
    lead = hits[0].description
    if not lead.lower().startswith("other "):
        return hits
    twin = "unspecified " + lead[len("other "):].lower()
    for hit in hits[1:TWIN_DEPTH]:
        if hit.code_set == "ICD10CM" and hit.description.lower() == twin:
            return [hit, *(h for h in hits if h is not hit)]
    return hits


TWIN_DEPTH = 5


def cpt_first(query: str, hits: list[CodeHit]) -> list[CodeHit]:
    """A HCPCS Level II code that leads only narrowly gives way to the CPT code behind it (see LEVEL_II_WORDS),
    and the other way round when Medicare is named: a Medicare G-code replaces the CPT code on Medicare claims
    (G0008, not 90471, for giving a flu shot). A drug supply J-code never answers a question about administering."""
    if ADMINISTRATION.search(query):
        hits = [h for h in hits if not is_drug_supply(h)]
    if not hits or hits[0].source in ("descriptor", "exact"):
        return hits
    if hits[0].code_set == "CPT" and MEDICARE.search(query):
        wanted, margin = (lambda h: h.code_set == "HCPCS" and h.code.startswith("G")), CPT_FIRST_DEFAULT_MARGIN
    elif hits[0].code_set == "HCPCS" and not LEVEL_II_WORDS.search(query):
        wanted, margin = (lambda h: h.code_set == "CPT"), CPT_FIRST_MARGIN.get(hits[0].code[:1], CPT_FIRST_DEFAULT_MARGIN)
    else:
        return hits
    for hit in hits[1:4]:
        if wanted(hit) and hits[0].score - hit.score <= margin:
            return [hit, *(h for h in hits if h is not hit)]
    return hits
