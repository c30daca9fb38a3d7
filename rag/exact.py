"""Exact intents answered from the reference store, deterministically: no similarity, no model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import combinations

from rag.answer import Citation, CodeCheck, MueFinding, PtpFinding
from rag.codes import codes_in
from rag.stores.reference import ReferenceStore, Sourced
from rag.stores.schema import DATASETS, MODIFIER_INDICATORS, MUE_ADJUDICATION_INDICATORS, CodeRecord, row_locator

TABLE_NAMES = {"ptp_practitioner": "practitioner", "ptp_hospital": "outpatient hospital",
               "mue_practitioner": "practitioner", "mue_hospital": "outpatient hospital", "mue_dme": "DME supplier"}
MAX_PAIR_CODES = 8


@dataclass
class Fact:
    """One sentence of an answer and the source it rests on (marker assigned by the composer)."""

    text: str
    citation: Citation
    codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The fact's text is derived from the cited record, so every code it names is grounded there.
        self.citation.codes = list(dict.fromkeys([*self.citation.codes, *self.codes, *codes_in(self.text)]))


@dataclass
class ExactResult:
    facts: list[Fact] = field(default_factory=list)
    ptp: list[PtpFinding] = field(default_factory=list)
    mue: list[MueFinding] = field(default_factory=list)


def format_date(value: int | None) -> str:
    if not value or value >= 99991231:
        return "none"
    text = str(value)
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def reference_citation(sourced: Sourced, snippet: str, row: int | None, codes: tuple[str, ...] = ()) -> Citation:
    release = sourced.release
    return Citation(marker=0, kind="reference", source=release.dataset, title=sourced.dataset_title,
                    version=release.version, locator=row_locator(row) if row else "whole table",
                    url=sourced.official_url, snippet=snippet, codes=list(codes))


def describe(record: CodeRecord) -> str:
    return record.long_description or record.lay_description or record.short_description


# ---------------------------------------------------------------- code lookup

def code_facts(store: ReferenceStore, code: str) -> list[Fact]:
    facts = []
    for sourced in sorted(store.lookup_code(code), key=lambda s: s.release.dataset != "cpt_licensed"):
        record = sourced.fact
        label = "Modifier" if record.code_set == "MODIFIER" else record.code_set.replace("ICD10CM", "ICD-10-CM")
        if sourced.release.dataset == "cpt":
            text = f"CPT {code} ({record.family}, {record.code_range}), in plain words: {record.lay_description}"
        elif record.code_set == "MODIFIER" and sourced.release.dataset == "modifiers":
            text = f"Modifier {code} ({record.short_description}): {record.lay_description}"
        else:
            text = f"{label} {code}: {describe(record)}"
        if record.termination_date:
            text += f" This code was terminated on {format_date(record.termination_date)}."
        facts.append(Fact(text, reference_citation(sourced, describe(record)[:300], record.row), (code,)))
    return facts


def listing_facts(store: ReferenceStore, code: str) -> list[Fact]:
    """For a code with no descriptor loaded but listed in an NCCI table: that it exists, and where it is listed."""
    sourced = store.in_ncci_tables(code)
    if sourced is None:
        return []
    table = TABLE_NAMES.get(sourced.release.dataset, sourced.release.dataset)
    text = (f"{code} is listed in the Medicare NCCI {'MUE' if sourced.release.dataset.startswith('mue') else 'PTP'} "
            f"{table} table ({sourced.release.version}), so it is a current code, but no descriptor for it is "
            f"loaded (CPT descriptors are licensed by the AMA; load a licensed file to see them).")
    return [Fact(text, reference_citation(sourced, f"{code} is listed in this table", None, (code,)), (code,))]


# ---------------------------------------------------------------- NCCI PTP

def ptp_finding(sourced: Sourced, on: int | None = None) -> PtpFinding:
    """One PTP edit as answers, claim checks and code pages show it; active on ``on`` (YYYYMMDD, default today)."""
    edit = sourced.fact
    active = edit.active_on(on or int(date.today().strftime("%Y%m%d")))
    return PtpFinding(
        column1=edit.column1, column2=edit.column2, modifier_indicator=edit.modifier_indicator,
        modifier_meaning=MODIFIER_INDICATORS.get(edit.modifier_indicator, "unknown indicator"),
        effective_date=edit.effective_date, deletion_date=None if not edit.deleted else edit.deletion_date,
        active=active, rationale=edit.rationale, dataset=sourced.release.dataset, version=sourced.release.version,
        row=edit.row,
    )


def _ptp_sentence(f: PtpFinding) -> str:
    table = TABLE_NAMES.get(f.dataset, f.dataset)
    dates = ("the source lists no effective or deletion dates" if f.effective_date == 0 else
             f"effective {format_date(f.effective_date)}, deletion date {format_date(f.deletion_date)}")
    status = "" if f.active else " This edit is not active on the date of service."
    return (f"NCCI PTP edit ({table}, {f.version}): {f.column1} is column 1 and {f.column2} is column 2, so "
            f"{f.column2} is not paid separately when billed with {f.column1}. Modifier indicator "
            f"{f.modifier_indicator}: {f.modifier_meaning}. Rationale: {f.rationale}; {dates}.{status}")


def pair_facts(store: ReferenceStore, codes: list[str], service_date: int | None = None) -> ExactResult:
    """Every pair of the codes against every loaded PTP table (practitioner, outpatient hospital): the edits
    found, or for a table without one a sentence that names the table and the quarter checked."""
    result = ExactResult()
    tables = sorted((name for name in store.releases() if DATASETS[name].kind == "ptp"),
                    key=lambda name: (name != "ptp_practitioner", name))
    for code_a, code_b in combinations(codes[:MAX_PAIR_CODES], 2):
        for name in tables:
            edits = store.ptp_pair(code_a, code_b, dataset=name)
            for sourced in edits:
                finding = ptp_finding(sourced, service_date)
                result.ptp.append(finding)
                result.facts.append(Fact(_ptp_sentence(finding), reference_citation(
                    sourced, f"{finding.column1}\t{finding.column2}\tmodifier {finding.modifier_indicator}\t"
                             f"{finding.rationale}", finding.row, (code_a, code_b)), (code_a, code_b)))
            if not edits:
                release = store.releases()[name]
                text = (f"No NCCI PTP edit pairs {code_a} and {code_b} in the {TABLE_NAMES.get(name, name)} table "
                        f"({release.version}); the pair is not bundled by NCCI, though payer policy may still apply.")
                result.facts.append(Fact(text, reference_citation(Sourced(None, release),
                                                                  f"no row for {code_a}/{code_b}", None,
                                                                  (code_a, code_b)), (code_a, code_b)))
    return result


# ---------------------------------------------------------------- MUE

def mue_facts(store: ReferenceStore, codes: list[str], units: list[int]) -> ExactResult:
    result = ExactResult()
    for code in codes:
        limits = store.mue(code)
        for sourced in limits:
            limit = sourced.fact
            meaning = MUE_ADJUDICATION_INDICATORS.get(limit.adjudication_indicator, "")
            finding = MueFinding(code=code, value=limit.value, adjudication_indicator=limit.adjudication_indicator,
                                 indicator_meaning=meaning, rationale=limit.rationale,
                                 dataset=sourced.release.dataset, version=sourced.release.version, row=limit.row)
            result.mue.append(finding)
            table = TABLE_NAMES.get(finding.dataset, finding.dataset)
            text = (f"The MUE for {code} ({table}, {finding.version}) is {limit.value} unit"
                    f"{'s' if limit.value != 1 else ''}; adjudication indicator {limit.adjudication_indicator} "
                    f"({meaning}). Rationale: {limit.rationale}.")
            if units and len(codes) == 1:
                verdict = "exceeds" if max(units) > limit.value else "is within"
                text += f" {max(units)} units {verdict} this MUE."
            result.facts.append(Fact(text, reference_citation(
                sourced, f"{code},{limit.value},{limit.adjudication_indicator},{limit.rationale}", limit.row,
                (code,)), (code,)))
        if not limits:
            for name, release in store.releases().items():
                if DATASETS[name].kind == "mue":
                    text = (f"{code} has no published MUE in the {TABLE_NAMES.get(name, name)} table "
                            f"({release.version}); CMS does not publish every MUE value.")
                    result.facts.append(Fact(text, reference_citation(Sourced(None, release),
                                                                      f"no row for {code}", None, (code,)), (code,)))
    return result


# ---------------------------------------------------------------- modifiers

def modifier_facts(store: ReferenceStore, modifiers: list[str]) -> list[Fact]:
    facts = []
    for modifier in modifiers:
        for sourced in store.lookup_code(modifier):
            record = sourced.fact
            if record.code_set != "MODIFIER":
                continue
            attrs = record.attributes
            if sourced.release.dataset == "modifiers":
                text = f"Modifier {modifier} ({record.short_description}): {record.lay_description}"
                if attrs.get("when_to_use"):
                    text += f" When to use: {attrs['when_to_use']}"
                if attrs.get("ncci"):
                    text += f" NCCI: {attrs['ncci']}"
            else:
                text = f"Modifier {modifier} in the HCPCS Level II file: {describe(record)}."
            facts.append(Fact(text, reference_citation(sourced, (record.lay_description or describe(record))[:300],
                                                       record.row), (modifier,)))
    return facts


# ---------------------------------------------------------------- validity

def check_code(store: ReferenceStore, code: str, code_set: str = "") -> CodeCheck:
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
