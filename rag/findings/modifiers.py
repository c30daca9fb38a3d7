"""Modifiers: the project's guidance and the HCPCS file's modifier rows, as facts with citations."""

from __future__ import annotations

import re
from typing import Sequence

from rag.answer import PtpFinding
from rag.findings.codes import code_citation, describe
from rag.findings.common import Fact
from rag.stores.reference import ReferenceStore, Sourced
from rag.stores.schema import CodeRecord


def modifier_records(store: ReferenceStore, modifier: str) -> list[Sourced[CodeRecord]]:
    """The modifier's rows, the project's guidance first."""
    found = [s for s in store.lookup_code(modifier) if s.fact.code_set == "MODIFIER"]
    return sorted(found, key=lambda s: s.release.dataset != "modifiers")


def modifier_sentence(sourced: Sourced[CodeRecord]) -> str:
    record = sourced.fact
    if sourced.release.dataset != "modifiers":
        return f"Modifier {record.code} in the HCPCS Level II file: {describe(record)}."
    attrs = record.attributes
    text = f"Modifier {record.code} ({record.short_description}): {record.lay_description}"
    if attrs.get("when_to_use"):
        text += f" When to use: {attrs['when_to_use']}"
    if attrs.get("ncci"):
        text += f" NCCI: {attrs['ncci']}"
    return text


def modifier_facts(store: ReferenceStore, modifiers: list[str]) -> list[Fact]:
    facts = []
    for modifier in modifiers:
        for sourced in (s for s in store.lookup_code(modifier) if s.fact.code_set == "MODIFIER"):
            record = sourced.fact
            facts.append(Fact(modifier_sentence(sourced),
                              code_citation(sourced, record.lay_description or describe(record)), (modifier,)))
    return facts


def first_sentence(text: str) -> str:
    from rag.compose import split_sentences

    units = split_sentences(text or "")
    return units[0] if units else (text or "").strip()


USE_IT_OPENERS = ("when", "if", "for", "on", "only", "with", "after", "before", "whenever")


def _when_to_use(when: str) -> str:
    """The guidance's "when to use" as a sentence: "Use it when ..." only where the guidance reads on from
    there ("First check the payer's ..." stays a sentence of its own)."""
    lowered = when.lower()
    if lowered.startswith(("use", "append")):
        return f"{when}."
    if lowered.startswith(USE_IT_OPENERS):
        return f"Use it {when[0].lower()}{when[1:]}."
    return f"When to use: {when}."


DISTINCT_SERVICE = ("59", "XE", "XP", "XS", "XU")
EM_WORDS = re.compile(r"\bE/?M\b|\bE&M\b|\boffice visits?\b|\bevaluation and management\b|\b99(?:2\d|4\d)\d\b", re.I)


def em_modifier_rule(store: ReferenceStore, question: str, modifiers: list[str]) -> Fact | None:
    """"Can I put 59 on an E/M?": never (NCCI: 59 and X{EPSU} are for non-E/M services); a significant,
    separately identifiable E/M takes 25, or 57 for the decision for major surgery. Cited to the modifier rows."""
    asked = [m for m in modifiers if m in DISTINCT_SERVICE]
    if not asked or not EM_WORDS.search(question):
        return None
    named = " or ".join(asked)
    text = (f"No: modifier {named} is not appended to an E/M service (NCCI: 59 and XE, XP, XS, XU mark distinct "
            "non-E/M services); a significant, separately identifiable E/M on the day of a procedure takes modifier "
            "25, or 57 when the visit was the decision for major surgery.")
    return _cited_to_modifiers(store, text, [*asked, "25", "57"])


def _cited_to_modifiers(store: ReferenceStore, text: str, modifiers: list[str], names: Sequence[str] = ()
                        ) -> Fact | None:
    """A rule about modifiers as one sentence, cited to each modifier's row (the first leads), naming ``names``
    (the visit's code) first; None when the data holds none of the modifiers."""
    rows = [records[0] for m in dict.fromkeys(modifiers) if (records := modifier_records(store, m))]
    if not rows:
        return None
    return Fact(text, code_citation(rows[0]), tuple(dict.fromkeys([*names, *modifiers])),
                also=tuple(code_citation(s) for s in rows[1:]))


EM_CODE = re.compile(r"^99(?:2\d\d|3\d\d|4[0-9]\d)$")  # E/M services, 99202-99499


def em_pair_fact(store: ReferenceStore, finding: PtpFinding) -> Fact | None:
    """For an edit that pairs an E/M with a procedure and allows a modifier: which one, and on which line. The
    table's "59, XE, XP, XS, XU, 25" is read by coders as a free choice; on an E/M only 25 (or 57) is right."""
    visits = [code for code in (finding.column1, finding.column2) if EM_CODE.match(code)]
    if finding.modifier_indicator != 1 or len(visits) != 1:
        return None
    visit = visits[0]
    text = (f"On the E/M, the modifier that bypasses this edit is 25 on {visit}, only when the visit is significant "
            f"and separately identifiable from the procedure (57 when it was the decision for major surgery); 59 "
            f"and XE, XP, XS, XU are not appended to an E/M.")
    return _cited_to_modifiers(store, text, ["25", "57"], names=[visit])


def modifier_answer_facts(store: ReferenceStore, modifiers: list[str]) -> list[Fact]:
    """One sentence per modifier for an answer: what it means and when it is used, from the project's guidance
    (the HCPCS file's row where there is none). The full guidance stays on the modifier's page; pasted whole
    into an answer it buries the answer."""
    facts = []
    for modifier in modifiers:
        records = modifier_records(store, modifier)
        if not records:
            continue
        sourced = records[0]
        record = sourced.fact
        if sourced.release.dataset != "modifiers":
            text = modifier_sentence(sourced)
        else:
            meaning = first_sentence(record.lay_description).rstrip(".")
            when = first_sentence(str(record.attributes.get("when_to_use") or "")).rstrip(".")
            text = f"Modifier {record.code} ({record.short_description}): {meaning}."
            if when:
                text += f" {_when_to_use(when)}"
        facts.append(Fact(text, code_citation(sourced, record.lay_description or describe(record)), (modifier,)))
    return facts
