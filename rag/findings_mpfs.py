"""Fee schedule indicators (PPRRVU) and NCCI add-on code edits as typed findings, facts and claim problems.

Read from the reference store only (datasets ``mpfs`` and ``addon``), each with its citation; no similarity, no
model. The meanings below are the project's plain-language summary of CMS's definitions in the RVU file's
documentation and the NCCI add-on code edit page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from weakref import WeakKeyDictionary

from pydantic import BaseModel, Field

from rag.answer import Citation
from rag.exact import Fact, format_date, reference_citation
from rag.findings.codes import code_citation
from rag.findings.common import absence_citation, spoken_codes
from rag.findings.missing import loaded, missing_table_fact
from rag.stores.reference import ReferenceStore, Sourced
from rag.stores.schema import DATASETS, NO_DATE, AddonEdit, CodeRecord, MpfsIndicators

STATUS = {
    "A": "active: paid under the fee schedule", "B": "bundled: payment is included in other services",
    "C": "carrier priced: the contractor sets the payment", "D": "deleted", "E": "excluded from the fee schedule",
    "I": "not valid for Medicare: another code is used", "J": "anesthesia service",
    "M": "measurement code: reported, not paid", "N": "non-covered service", "P": "bundled or excluded",
    "R": "restricted coverage", "T": "paid only when no other service is billed that day",
    "X": "statutory exclusion: not a fee schedule service",
}
GLOBAL_DAYS = {
    "000": "0-day global period: pre- and postoperative care on the day of the procedure are included",
    "010": "10-day global period: the day of the procedure and 10 postoperative days are included",
    "090": "90-day global period: the day before, the day of the procedure and 90 postoperative days are included",
    "MMM": "maternity code: the usual global period does not apply",
    "XXX": "the global concept does not apply",
    "YYY": "the contractor sets the global period",
    "ZZZ": "add-on or related service: included in the global period of the primary service",
}
PCTC = {
    "0": "physician service: no professional/technical split; modifiers 26 and TC do not apply",
    "1": "diagnostic test with a professional (26) and a technical (TC) component",
    "2": "professional component only", "3": "technical component only", "4": "global test only",
    "5": "incident-to service", "6": "laboratory physician interpretation",
    "7": "physical therapy service not paid when furnished by an independent therapist",
    "8": "physician interpretation (professional component only)", "9": "the PC/TC concept does not apply",
}
MULTIPLE_PROCEDURE = {
    "0": "no multiple procedure reduction", "1": "standard reduction rules as before 1996",
    "2": "standard multiple procedure rules: 100% for the highest valued procedure, 50% for the others (modifier 51)",
    "3": "endoscopy rules: reduced against the endoscopic base code",
    "4": "diagnostic imaging reduction", "5": "therapy practice expense reduction",
    "6": "diagnostic cardiovascular reduction", "7": "diagnostic ophthalmology reduction",
    "9": "the multiple procedure concept does not apply",
}
BILATERAL = {
    "0": "no bilateral adjustment: modifier 50 does not apply",
    "1": "bilateral adjustment applies: 150% of the fee with modifier 50 (or RT and LT)",
    "2": "no bilateral adjustment: the values already cover both sides",
    "3": "each side paid at 100% (no bilateral reduction)", "9": "the bilateral concept does not apply",
}
ASSISTANT = {
    "0": "assistant at surgery paid only with documentation of medical necessity",
    "1": "assistant at surgery not paid", "2": "assistant at surgery may be paid",
    "9": "the assistant at surgery concept does not apply",
}
CO_SURGEON = {
    "0": "co-surgeons not permitted", "1": "co-surgeons permitted with documentation of medical necessity",
    "2": "co-surgeons permitted (two specialties)", "9": "the co-surgeon concept does not apply",
}
TEAM = {
    "0": "team surgery not permitted", "1": "team surgery permitted with documentation of medical necessity",
    "2": "team surgery permitted, paid by report", "9": "the team surgery concept does not apply",
}
ADDON_EDIT_TYPES = {
    1: "type 1: paid only when a listed primary code is billed by the same practitioner for the same patient",
    2: "type 2: no primary code is listed; the contractor decides which primaries are acceptable",
    3: "type 3: paid with a listed primary code, or another primary the contractor accepts",
}


class MpfsFinding(BaseModel):
    code: str
    modifier: str
    status: str
    status_meaning: str
    global_days: str
    global_meaning: str
    pctc: str
    pctc_meaning: str
    multiple_procedure: str
    multiple_procedure_meaning: str
    bilateral: str
    bilateral_meaning: str
    assistant: str
    assistant_meaning: str
    co_surgeon: str
    co_surgeon_meaning: str
    team: str
    team_meaning: str
    work_rvu: float | None = None
    endoscopic_base: str = ""
    dataset: str
    version: str
    row: int


class AddonFinding(BaseModel):
    addon: str
    primary: str = Field(description="empty for edit type 2 (no primary listed)")
    edit_type: int
    edit_type_meaning: str
    effective_date: int
    deletion_date: int | None
    active: bool
    notes: str = ""
    dataset: str
    version: str
    row: int


class AddonWithoutPrimary(BaseModel):
    """An add-on code on a claim with none of its listed primary codes."""

    line: int
    addon: str
    edit_type: int
    primaries: list[str] = Field(description="the primary codes the edit file lists for it")
    severity: str = Field(description="'denied' (type 1) or 'review' (type 3: the contractor may accept others)")
    explanation: str
    citation: Citation | None = None


def _today() -> int:
    return int(date.today().strftime("%Y%m%d"))


def mpfs_finding(sourced: Sourced[MpfsIndicators]) -> MpfsFinding:
    row = sourced.fact
    return MpfsFinding(
        code=row.code, modifier=row.modifier, status=row.status, status_meaning=STATUS.get(row.status, "unknown"),
        global_days=row.global_days, global_meaning=GLOBAL_DAYS.get(row.global_days, "unknown"), pctc=row.pctc,
        pctc_meaning=PCTC.get(row.pctc, "unknown"), multiple_procedure=row.multiple_procedure,
        multiple_procedure_meaning=MULTIPLE_PROCEDURE.get(row.multiple_procedure, "unknown"),
        bilateral=row.bilateral, bilateral_meaning=BILATERAL.get(row.bilateral, "unknown"),
        assistant=row.assistant, assistant_meaning=ASSISTANT.get(row.assistant, "unknown"),
        co_surgeon=row.co_surgeon, co_surgeon_meaning=CO_SURGEON.get(row.co_surgeon, "unknown"), team=row.team,
        team_meaning=TEAM.get(row.team, "unknown"), work_rvu=row.work_rvu, endoscopic_base=row.endoscopic_base,
        dataset=sourced.release.dataset, version=sourced.release.version, row=row.row)


def addon_finding(sourced: Sourced[AddonEdit], on: int | None = None) -> AddonFinding:
    edit = sourced.fact
    return AddonFinding(
        addon=edit.addon, primary=edit.primary, edit_type=edit.edit_type,
        edit_type_meaning=ADDON_EDIT_TYPES.get(edit.edit_type, "unknown"), effective_date=edit.effective_date,
        deletion_date=None if edit.deletion_date == NO_DATE else edit.deletion_date,
        active=edit.active_on(on or _today()), notes=edit.notes, dataset=sourced.release.dataset,
        version=sourced.release.version, row=edit.row)


def _mpfs_sentence(f: MpfsFinding) -> str:
    which = f"{f.code}-{f.modifier}" if f.modifier else f.code
    return (f"Medicare Physician Fee Schedule ({f.version}) for {which}: global period {f.global_days} "
            f"({f.global_meaning}); status {f.status} ({f.status_meaning}); PC/TC indicator {f.pctc} "
            f"({f.pctc_meaning}); multiple procedure {f.multiple_procedure} ({f.multiple_procedure_meaning}); "
            f"bilateral {f.bilateral} ({f.bilateral_meaning}); assistant at surgery {f.assistant} "
            f"({f.assistant_meaning}); co-surgeons {f.co_surgeon} ({f.co_surgeon_meaning}); team surgery {f.team} "
            f"({f.team_meaning}).")


def mpfs_facts(store: ReferenceStore, code: str, modifiers: bool = False) -> list[Fact]:
    """The fee schedule indicators of ``code`` ("global period of 27130?"): the global service row, and with
    ``modifiers`` its 26/TC/53 rows too."""
    facts = []
    for sourced in store.mpfs(code):
        if sourced.fact.modifier and not modifiers:
            continue
        finding = mpfs_finding(sourced)
        snippet = (f"{finding.code}\t{finding.modifier}\tstatus {finding.status}\tPCTC {finding.pctc}\tglobal "
                   f"{finding.global_days}\tmult {finding.multiple_procedure}\tbilat {finding.bilateral}\tasst "
                   f"{finding.assistant}\tco {finding.co_surgeon}\tteam {finding.team}")
        facts.append(Fact(_mpfs_sentence(finding), reference_citation(sourced, snippet, finding.row, (code,)),
                          (code,)))
    return facts


def _listed(codes: list[str], limit: int = 8) -> str:
    return ", ".join(codes[:limit]) + (" ..." if len(codes) > limit else "")


def _addon_sentence(addon: str, edits: list[AddonFinding], version: str, with_code: str | None,
                    without: bool = False) -> str:
    """The answer about add-on code ``addon``; ``without``: the question asks whether it can be billed without
    ``with_code`` ("can I bill 64484 without 64483?"), so the sentence opens with the answer to that."""
    active = [e for e in edits if e.active]
    if not active:
        return (f"The NCCI add-on code edit file ({version}) lists {addon} as an add-on code, but none of its edits "
                "is in force on the date asked.")
    types = sorted({e.edit_type for e in active})
    primaries = sorted({e.primary for e in active if e.primary})
    source = f"NCCI add-on code edits, {version}, edit type {'/'.join(str(t) for t in types)}"
    if types == [2]:
        return (f"{addon} is an add-on code ({source}): CMS lists no primary code for it, so it is paid only with a "
                "primary service the contractor accepts, never billed alone.")
    contractor = 2 in types or 3 in types
    paid_with = (f"paid only with one of its listed primary codes ({_listed(primaries)})"
                 + (" or another primary the contractor accepts" if contractor else "")
                 + ", billed by the same practitioner for the same patient")
    if without and with_code:
        others = [p for p in primaries if p != with_code]
        if with_code not in primaries:
            return (f"{with_code} is not one of the listed primary codes of add-on code {addon} ({source}); {addon} "
                    f"is {paid_with}.")
        if contractor:
            return (f"Only if another primary is billed: {addon} is an add-on code ({source}), {paid_with}; "
                    f"billed alone it is not paid.")
        if not others:
            return (f"No: {addon} is an add-on code paid only with its primary code {with_code} ({source}); billed "
                    f"without {with_code} it is not paid.")
        return (f"No, not without a primary: {addon} is an add-on code ({source}), {paid_with}; without {with_code} "
                f"it is paid only when another of them is billed.")
    text = f"{addon} is an add-on code ({source}), {paid_with}; it is not paid when billed alone."
    if with_code and with_code in primaries:
        text += f" {with_code} is one of its primary codes."
    elif with_code and not contractor:
        text += f" {with_code} is not one of them, so {addon} is not paid with {with_code} alone."
    elif with_code:
        text += f" {with_code} is not listed; the contractor decides whether it is an acceptable primary."
    return text


def addon_facts(store: ReferenceStore, addon: str, with_code: str | None = None, on: int | None = None,
                without: bool = False) -> list[Fact]:
    """Whether ``addon`` is an add-on code and which primaries it needs ("can I bill 64484 without 64483?"), from
    the edits in force on ``on`` (YYYYMMDD; today by default)."""
    sourced = store.addon_primaries(addon)
    if not sourced:
        return []
    by_release: dict[str, list[Sourced[AddonEdit]]] = {}
    for item in sourced:
        by_release.setdefault(item.release.version, []).append(item)
    on = on or _today()
    facts = []
    for version, items in by_release.items():
        findings = [addon_finding(item, on) for item in items]
        first = next((item for item in items if item.fact.active_on(on)), items[0])
        primaries = ", ".join(sorted({f.primary for f in findings if f.primary})) or "none listed"
        codes = tuple(dict.fromkeys([addon, *(f.primary for f in findings if f.primary)]))
        facts.append(Fact(_addon_sentence(addon, findings, version, with_code, without), reference_citation(
            first, f"{addon}\tprimaries: {primaries}\ttype {first.fact.edit_type}", first.fact.row, codes), codes))
    return facts


def addon_answer_facts(store: ReferenceStore, codes: Sequence[str], on: int | None = None, without: bool = False,
                       say_absent: bool = True) -> list[Fact]:
    """The add-on code edits behind a question that names ``codes``: each add-on code among them with its
    primaries (the others as the primary asked about); when none is an add-on code and ``say_absent``, that
    absence, cited to the edit file; when no edit file is loaded, which table is missing."""
    if not loaded(store, "addon"):
        if not (say_absent or without):
            return []  # a plain pair question: the PTP answer stands; no add-on words, no add-on lookups
        described = corpus_addon_facts(store, codes, without)
        if described or say_absent:
            return [*described, missing_table_fact("addon", codes)]
        return []
    facts = []
    for code in codes:
        others = [c for c in codes if c != code]
        facts += addon_facts(store, code, others[0] if others else None, on, without)
    if facts or not say_absent:
        return facts
    verb = "is" if len(codes) == 1 else "are"
    return [Fact(f"{spoken_codes(codes)} {verb} not listed as an add-on code in the NCCI add-on code edit file ({release.version}), "
                 f"so {'it is' if len(codes) == 1 else 'they are'} not subject to an add-on code edit.",
                 absence_citation(release, tuple(codes)), tuple(codes))
            for name, release in store.releases().items() if DATASETS[name].kind == "addon"]


_CORPUS_PRIMARIES: WeakKeyDictionary = WeakKeyDictionary()


def _corpus_primaries(store: ReferenceStore) -> dict[str, list[Sourced[CodeRecord]]]:
    """add-on code -> the corpus rows that list it as their add-on, read once per store."""
    found = _CORPUS_PRIMARIES.get(store)
    if found is None:
        found = {}
        for sourced in store.iter_codes("CPT"):
            if sourced.release.dataset == "cpt":
                for addon in sourced.fact.attributes.get("add_on_codes") or []:
                    found.setdefault(addon, []).append(sourced)
        _CORPUS_PRIMARIES[store] = found
    return found


def corpus_addon_facts(store: ReferenceStore, codes: Sequence[str], without: bool = False) -> list[Fact]:
    """Without the NCCI add-on file: the add-on relations the project's plain-language CPT descriptions record
    (a primary code's ``add_on_codes``), cited by the primary's row."""
    facts = []
    by_addon = _corpus_primaries(store)
    for code in codes:
        primaries = by_addon.get(code, [])
        if not primaries:
            continue
        named = [s.fact.code for s in primaries]
        listed = " or ".join(named)
        lead = (f"No: {code} is an add-on code, reported only with its primary code {listed}"
                if without and any(c in named for c in codes if c != code) else
                f"{code} is an add-on code, reported only with its primary code {listed}")
        facts.append(Fact(f"{lead} (CasePilot's CPT descriptions); billed alone it is not paid.",
                          code_citation(primaries[0]), (code, *named),
                          also=tuple(code_citation(s) for s in primaries[1:])))
    return facts


def addons_without_primary(store: ReferenceStore, lines: list[tuple[int, str, int]]
                           ) -> list[tuple[AddonWithoutPrimary, Sourced[AddonEdit]]]:
    """For a claim's (line index, code, date of service YYYYMMDD): each add-on code none of whose listed primary
    codes is on the claim. Type 1 is 'denied'; type 3 'review' (the contractor may accept other primaries);
    type 2 lists no primaries and is not checked."""
    on_claim = {code for _, code, _ in lines}
    problems = []
    for index, code, on in lines:
        edits = [s for s in store.addon_primaries(code) if s.fact.active_on(on)]
        listed = [s for s in edits if s.fact.edit_type in (1, 3) and s.fact.primary]
        if not listed or any(s.fact.primary in on_claim for s in listed):
            continue
        primaries = sorted({s.fact.primary for s in listed})
        severity = "denied" if all(s.fact.edit_type == 1 for s in listed) else "review"
        first = listed[0]
        shown = ", ".join(primaries[:8]) + (" ..." if len(primaries) > 8 else "")
        tail = ("it is not paid without one of them." if severity == "denied" else
                "the contractor may accept another primary; check that one is documented.")
        text = (f"{code} is an add-on code (NCCI add-on code edits, {first.release.version}, edit type "
                f"{first.fact.edit_type}), and none of its primary codes ({shown}) is on the claim: {tail}")
        problems.append((AddonWithoutPrimary(line=index, addon=code, edit_type=first.fact.edit_type,
                                             primaries=primaries, severity=severity, explanation=text), first))
    return problems


def addon_citation(sourced: Sourced[AddonEdit]) -> Citation:
    edit = sourced.fact
    return reference_citation(sourced, f"{edit.addon}\t{edit.primary or '(none)'}\ttype {edit.edit_type}\t"
                                       f"effective {format_date(edit.effective_date)}", edit.row,
                              (edit.addon, *((edit.primary,) if edit.primary else ())))


class CodePageFeeSchedule(BaseModel):
    """What a code page shows from the fee schedule and the add-on edit file, when they are loaded."""

    fee_schedule: list[MpfsFinding] = Field(default_factory=list, description="global service first, then 26/TC")
    addon_edits: list[AddonFinding] = Field(default_factory=list, description="the code as an add-on: primaries")
    addons: list[str] = Field(default_factory=list, description="add-on codes listing this code as a primary")


def code_page_fee_schedule(store: ReferenceStore, code: str) -> CodePageFeeSchedule:
    return CodePageFeeSchedule(
        fee_schedule=[mpfs_finding(s) for s in store.mpfs(code)],
        addon_edits=[addon_finding(s) for s in store.addon_primaries(code)],
        addons=sorted({s.fact.addon for s in store.addons_of(code) if s.fact.active_on(_today())}))
