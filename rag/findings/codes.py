"""Codes: whether a code exists and is current, its descriptor facts, and their citations."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from rag.answer import Citation, CitedFact, CodeCheck
from rag.findings.common import CodeToCompare, Fact, format_date, reference_citation, spoken_codes, table_name
from rag.stores.reference import ReferenceStore, Sourced
from rag.stores.schema import CodeRecord

CODE_SET_LABELS = {"ICD10CM": "ICD-10-CM", "MODIFIER": "Modifier"}


def describe(record: CodeRecord) -> str:
    return record.long_description or record.lay_description or record.short_description


DIFFERS_MAX_WORDS = 8
CLAUSE_MAX_WORDS = 12
AMOUNT_WORDS = {"to", "per", "of", "over"}
DESCRIPTOR_WORD = re.compile(r"[A-Za-z0-9][\w%./-]*")


def _opening_clause(text: str) -> str:
    clause = re.split(r"(?<=[\w)])[.;:](?:\s|$)", text.strip(), maxsplit=1)[0].strip().rstrip(".,")
    words = clause.split()
    return " ".join(words[:CLAUSE_MAX_WORDS]) + (" ..." if len(words) > CLAUSE_MAX_WORDS else "")


def differing_words(text: str, lead: str) -> str:
    """What tells descriptor ``text`` apart from the leading code's ``lead``: its words the lead lacks, in
    order ("mild" beside "moderate"; a bare number keeps its neighbours: "Type 1"); the opening clause when the
    two share too little for a short difference."""
    text, lead = _opening_clause(text), _opening_clause(lead)
    words, lead_words = DESCRIPTOR_WORD.findall(text), DESCRIPTOR_WORD.findall(lead)
    matcher = SequenceMatcher(a=[w.lower() for w in lead_words], b=[w.lower() for w in words], autojunk=False)
    parts = []
    for tag, _a0, _a1, b0, b1 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            if all(any(ch.isdigit() for ch in w) and len(w) <= 4 for w in words[b0:b1]):  # "up to 40 mg", "Type 1"
                b0, b1 = max(0, b0 - 1), min(len(words), b1 + 1)
                while b0 > 0 and words[b0].lower() in AMOUNT_WORDS:
                    b0 -= 1
            parts.append(" ".join(words[b0:b1]))
    if not parts or sum(len(p.split()) for p in parts) > DIFFERS_MAX_WORDS:
        return text
    return ", ".join(parts)


def to_compare(sourced: Sourced[CodeRecord], lead: CodeRecord) -> CodeToCompare:
    """``sourced``'s code as one to compare with the answer's ``lead`` code, cited by its own row."""
    text, lead_text = _title(sourced.fact), _title(lead)
    return CodeToCompare(sourced.fact.code, _opening_clause(text), differing_words(text, lead_text),
                         code_citation(sourced))


def _title(record: CodeRecord) -> str:
    """A modifier by its name (its long text is guidance), any other code by its descriptor."""
    if record.code_set == "MODIFIER":
        return record.short_description or describe(record)
    return describe(record).strip()


def code_citation(sourced: Sourced[CodeRecord], text: str | None = None) -> Citation:
    """The citation of a code's row in a code set (descriptor file, corpus or modifier list)."""
    record = sourced.fact
    fact: CitedFact = "modifier" if record.code_set == "MODIFIER" else "code"
    values: dict[str, int | str] = {"code": record.code, "code_set": record.code_set}
    if record.termination_date:
        values["termination_date"] = record.termination_date
    return reference_citation(sourced, (text or describe(record))[:300], record.row, (record.code,), fact=fact,
                              values=values)


def listing_citation(sourced: Sourced[None], code: str) -> Citation:
    return reference_citation(sourced, f"{code} is listed in this table", None, (code,), fact="listing")


def code_sentence(sourced: Sourced[CodeRecord]) -> str:
    record = sourced.fact
    code = record.code
    if sourced.release.dataset == "cpt_deleted":
        return f"CPT {code} is a deleted code. {record.lay_description}"
    if sourced.release.dataset == "cpt":
        text = f"CPT {code} ({record.family}, {record.code_range}), in plain words: {record.lay_description}"
    elif record.code_set == "MODIFIER" and sourced.release.dataset == "modifiers":
        text = f"Modifier {code} ({record.short_description}): {record.lay_description}"
    else:
        text = f"{CODE_SET_LABELS.get(record.code_set, record.code_set)} {code}: {describe(record)}"
    if record.termination_date:
        text += f" This code was terminated on {format_date(record.termination_date)}."
    return text


def code_facts(store: ReferenceStore, code: str) -> list[Fact]:
    """A fact per code set row of ``code``: a deletion or termination first (it is what a coder must see), then
    the licensed CPT descriptor, then the rest."""
    found = sorted(store.lookup_code(code), key=lambda s: (s.fact.termination_date is None,
                                                          s.release.dataset != "cpt_licensed"))
    return [Fact(code_sentence(sourced), code_citation(sourced), (code,)) for sourced in found]


def replacement_facts(store: ReferenceStore, code: str) -> list[Fact]:
    """"What replaced 22524?": the replacement codes of a deleted CPT code, from the project's deleted-codes table
    (CPT's own change notes), in one sentence that leads, then the table's note on the change."""
    for sourced in store.lookup_code(code):
        if sourced.release.dataset != "cpt_deleted":
            continue
        replacements = list(sourced.fact.attributes.get("replacement_codes") or [])
        deleted_on = sourced.fact.attributes.get("deleted_on")
        # the deletion is said before the replacement is named: each code's clause states only its own status
        deleted = f"CPT {code}, deleted on {format_date(deleted_on)}," if deleted_on else f"CPT {code}, deleted,"
        facts = [Fact(f"{deleted} has no single replacement code.", code_citation(sourced), (code,))
                 if not replacements else
                 Fact(f"{deleted} was replaced by {spoken_codes(replacements)}.", code_citation(sourced),
                      (code, *replacements))]
        note = str(sourced.fact.attributes.get("note") or "").strip()
        if note:  # it names the family's other codes, deleted with it: the sentence says whose change it was
            facts.append(Fact(f"The change that deleted it: {note if note.endswith('.') else note + '.'}",
                              code_citation(sourced, note), (code,)))
        return facts
    return []


def listing_facts(store: ReferenceStore, code: str) -> list[Fact]:
    """For a code with no descriptor loaded but listed in an NCCI table: where it is listed, and that a listing
    says nothing about whether the code is current (NCCI tables keep the edits of deleted codes)."""
    sourced = store.in_ncci_tables(code)
    if sourced is None:
        return []
    table = table_name(sourced.release.dataset)
    kind = "MUE" if sourced.release.dataset.startswith("mue") else "PTP"
    text = (f"{code} is listed in the Medicare NCCI {kind} {table} table ({sourced.release.version}), but no "
            f"descriptor file with it is loaded (CPT descriptors are licensed by the AMA; load a licensed file to "
            f"see them).")
    return [Fact(text, listing_citation(sourced, code), (code,))]


def check_code(store: ReferenceStore, code: str, code_set: str = "") -> CodeCheck:
    """A code's status: a code set row with a termination date makes it deleted; with no code set row, a listing
    in an NCCI table (CMS lists only real codes there) counts as valid."""
    found = [s for s in store.lookup_code(code) if s.fact.code_set != "MODIFIER"]
    if found:
        record = found[0].fact
        terminated = next((s.fact.termination_date for s in found if s.fact.termination_date), None)
        return CodeCheck(code=code, code_set=record.code_set, status="deleted" if terminated else "valid",
                         description=describe(record)[:200], termination_date=terminated)
    if store.in_ncci_tables(code):
        return CodeCheck(code=code, code_set=code_set or "CPT/HCPCS", status="valid",
                         description="listed in the CMS NCCI tables (no descriptor loaded)")
    return CodeCheck(code=code, code_set=code_set, status="unknown")
