"""Claim scrubbing: check the lines of one claim against NCCI PTP edits, MUEs and the code sets.

Deterministic, like rag.exact: every finding is read from a reference table and carries a citation
(dataset, version, row). No similarity search, no model.

- PTP: every pair of lines is looked up in both column orders. An edit with modifier indicator 1 is
  bypassed when the *column 2* line carries an NCCI-associated modifier; indicator 0 is never bypassed;
  indicator 9 (deleted retroactively) and edits not in force on the date of service do not apply.
- MUE: adjudication indicator 1 is a claim-line edit (each line on its own); indicators 2 and 3 are
  date-of-service edits (units of the same code on the same date are added up across lines).
- Codes: unknown codes (with the closest valid codes as suggestions) and codes terminated on or before
  the date of service; unknown modifiers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from itertools import combinations
from typing import Annotated, Callable, Literal, Sequence

from pydantic import BaseModel, Field, field_validator

from rag.answer import Citation, CodeCheck, MueFinding, PtpFinding
from rag.findings.codes import check_code, code_citation
from rag.findings.common import absence_citation, format_date, table_name
from rag.findings.mue import mue_citation, mue_finding
from rag.findings.ptp import ptp_citation, ptp_finding, ptp_heading
from rag.findings_mpfs import AddonWithoutPrimary, addon_citation, addons_without_primary
from rag.stores.reference import ReferenceStore
from rag.stores.schema import DATASETS
from rag.coverage import CoverageFinder, DiagnosisVerdict

# CMS NCCI Policy Manual, chapter I: the modifiers that may bypass a PTP edit with modifier indicator 1.
NCCI_ASSOCIATED_MODIFIERS = frozenset(
    ["59", "XE", "XP", "XS", "XU", "24", "25", "27", "57", "58", "78", "79", "91",
     "E1", "E2", "E3", "E4", "FA", *(f"F{i}" for i in range(1, 10)), "TA", *(f"T{i}" for i in range(1, 10)),
     "LT", "RT", "LC", "LD", "LM", "RC", "RI"])

Setting = Literal["practitioner", "hospital"]
SETTING_DATASETS: dict[str, tuple[str, str]] = {
    "practitioner": ("ptp_practitioner", "mue_practitioner"),
    "hospital": ("ptp_hospital", "mue_hospital"),
}
MAX_LINES = 50


class ClaimLine(BaseModel):
    code: str = Field(min_length=1, max_length=12, pattern=r"^[A-Za-z0-9.]+$",
                      description="CPT, HCPCS Level II or ICD-10-CM code", examples=["22514"])
    modifiers: list[Annotated[str, Field(pattern=r"^-?[A-Za-z0-9]{2}$")]] = Field(
        default_factory=list, max_length=4, description="up to four two-character modifiers, e.g. XS")
    units: int = Field(1, ge=1, le=9999, strict=True,
                       description="units of service on this line (a JSON integer: not \"3\", true or 2.0)")
    date_of_service: date | None = Field(None, description="YYYY-MM-DD; today when absent")
    diagnoses: list[Annotated[str, Field(pattern=r"^[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{1,4})?$")]] = Field(
        default_factory=list, max_length=12, description="ICD-10-CM codes the line points to, e.g. M80.08XA")

    @field_validator("code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("modifiers")
    @classmethod
    def _modifiers(cls, value: list[str]) -> list[str]:
        return [modifier.lstrip("-").upper() for modifier in value]


class PtpConflict(BaseModel):
    column1_line: int = Field(description="index (0-based) of the line with the column 1 code")
    column2_line: int = Field(description="index (0-based) of the line with the column 2 code")
    outcome: Literal["denied", "bypassed", "not_applicable"] = Field(
        description="denied: the column 2 line is not paid; bypassed: a modifier on the column 2 line "
                    "bypasses the edit; not_applicable: indicator 9 or not in force on the date of service")
    bypassed_by: str | None = Field(None, description="the NCCI-associated modifier that bypasses the edit")
    explanation: str
    edit: PtpFinding
    citation: Citation


class MueExcess(BaseModel):
    lines: list[int] = Field(description="indexes of the lines counted (one line for a claim-line edit)")
    code: str
    units: int
    limit: int
    excess: int
    date_of_service: date
    explanation: str
    mue: MueFinding
    citation: Citation


class CodeProblem(BaseModel):
    line: int
    code: str
    kind: Literal["code", "modifier"] = "code"
    status: Literal["deleted", "unknown"]
    explanation: str
    check: CodeCheck | None = None
    citation: Citation | None = None


class ClaimCheck(BaseModel):
    clean: bool = Field(description="every table the claim needs was checked, and there is no denied PTP pair, "
                                    "no MUE excess and no unknown or deleted code")
    setting: Setting
    unchecked: list[str] = Field(default_factory=list, description="NCCI tables the setting needs that are not "
                                 "loaded, so were not checked (the claim is then never clean)")
    ptp: list[PtpConflict] = Field(default_factory=list)
    mue: list[MueExcess] = Field(default_factory=list)
    codes: list[CodeProblem] = Field(default_factory=list)
    addons: list[AddonWithoutPrimary] = Field(default_factory=list, description="add-on codes without a primary")
    checked: list[CodeCheck] = Field(default_factory=list, description="every line's code, checked")
    coverage: list[DiagnosisVerdict] = Field(default_factory=list, description="whether each line's diagnosis is on "
                                             "the covered list of the billing articles for its code")
    notes: list[str] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list, description="every citation, numbered [n]")


def _yyyymmdd(value: date) -> int:
    return int(value.strftime("%Y%m%d"))


class ClaimChecker:
    """Checks claims against one ReferenceStore; ``check`` may add suggestions (QueryService.check)."""

    def __init__(self, store: ReferenceStore, check: Callable[[str], CodeCheck] | None = None):
        self.store = store
        self.check = check or (lambda code: check_code(store, code))

    def __call__(self, lines: Sequence[ClaimLine], setting: Setting = "practitioner",
                 today: date | None = None) -> ClaimCheck:
        today = today or date.today()
        ptp_dataset, mue_dataset = SETTING_DATASETS[setting]
        result = ClaimCheck(clean=True, setting=setting)
        loaded = self.store.releases()
        for dataset in (ptp_dataset, mue_dataset):
            if dataset not in loaded:
                result.unchecked.append(dataset)
                result.notes.append(f"The {DATASETS[dataset].title} table is not loaded, so it was not checked.")
        dates = [line.date_of_service or today for line in lines]
        checks = self._codes(lines, dates, result)
        usable = [i for i, line in enumerate(lines) if checks[line.code].status != "unknown"]
        self._ptp(lines, dates, usable, ptp_dataset, result)
        self._mue(lines, dates, usable, mue_dataset, result)
        self._addons(lines, dates, result)
        self._diagnoses(lines, dates, usable, result)
        result.checked = list(checks.values())
        result.clean = not (any(c.outcome == "denied" for c in result.ptp) or result.mue
                            or any(p.kind == "code" for p in result.codes) or result.unchecked
                            or any(a.severity == "denied" for a in result.addons))
        for number, citation in enumerate(result.citations, start=1):
            citation.marker = number
        return result

    def _cite(self, result: ClaimCheck, citation: Citation) -> Citation:
        result.citations.append(citation)
        return citation

    # ------------------------------------------------------------ codes and modifiers

    def _codes(self, lines: Sequence[ClaimLine], dates: list[date], result: ClaimCheck) -> dict[str, CodeCheck]:
        checks: dict[str, CodeCheck] = {}
        for index, line in enumerate(lines):
            check = checks.get(line.code) or self.check(line.code)
            checks[line.code] = check
            if check.status == "unknown":
                hint = f" Closest valid codes: {', '.join(check.suggestions[:5])}." if check.suggestions else ""
                searched = [r for name, r in self.store.releases().items() if name != "modifiers"]
                citation = None
                if searched:
                    tables = ", ".join(f"{r.dataset} {r.version}" for r in searched)
                    citation = absence_citation(searched[0], (line.code,))
                    citation = self._cite(result, citation.model_copy(
                        update={"snippet": f"no row for {line.code} in: {tables}"}))
                result.codes.append(CodeProblem(
                    line=index, code=line.code, status="unknown", check=check, citation=citation,
                    explanation=f"{line.code} was not found in any loaded code set or NCCI table.{hint}"))
            elif check.termination_date and check.termination_date <= _yyyymmdd(dates[index]):
                sourced = next((s for s in self.store.lookup_code(line.code) if s.fact.termination_date), None)
                citation = self._cite(result, code_citation(sourced)) if sourced else None
                result.codes.append(CodeProblem(
                    line=index, code=line.code, status="deleted", check=check, citation=citation,
                    explanation=f"{line.code} was terminated on {format_date(check.termination_date)}, on or "
                                f"before the date of service {dates[index].isoformat()}."))
            for modifier in line.modifiers:
                records = [s for s in self.store.lookup_code(modifier) if s.fact.code_set == "MODIFIER"]
                if not records and modifier not in NCCI_ASSOCIATED_MODIFIERS:
                    result.codes.append(CodeProblem(
                        line=index, code=modifier, kind="modifier", status="unknown",
                        explanation=f"Modifier {modifier} was not found in the loaded modifier lists."))
        return checks

    # ------------------------------------------------------------ NCCI PTP

    def _ptp(self, lines: Sequence[ClaimLine], dates: list[date], usable: list[int], dataset: str,
             result: ClaimCheck) -> None:
        seen: set[tuple[int, int, int]] = set()
        for a, b in combinations(usable, 2):
            if lines[a].code == lines[b].code:
                continue
            for sourced in self.store.ptp_pair(lines[a].code, lines[b].code, dataset=dataset):
                edit = sourced.fact
                col1, col2 = (a, b) if edit.column1 == lines[a].code else (b, a)
                if (col1, col2, edit.row) in seen:
                    continue
                seen.add((col1, col2, edit.row))
                on = dates[col2]
                finding = ptp_finding(sourced, _yyyymmdd(on))
                outcome, bypass, text = self._ptp_outcome(finding, lines[col1], lines[col2], on)
                citation = self._cite(result, ptp_citation(sourced))
                result.ptp.append(PtpConflict(column1_line=col1, column2_line=col2, outcome=outcome,
                                              bypassed_by=bypass, explanation=text, edit=finding,
                                              citation=citation))

    @staticmethod
    def _ptp_outcome(f: PtpFinding, line1: ClaimLine, line2: ClaimLine, on: date):
        head = f"{ptp_heading(f)} (row {f.row}; {f.rationale})."
        if f.modifier_indicator == 9:
            return "not_applicable", None, f"{head} Modifier indicator 9: the edit was deleted retroactively."
        if not f.active:
            return "not_applicable", None, (f"{head} The edit is not in force on {on.isoformat()} (effective "
                                            f"{format_date(f.effective_date)}, deleted "
                                            f"{format_date(f.deletion_date)}).")
        if f.modifier_indicator == 0:
            return "denied", None, (f"{head} Modifier indicator 0: no modifier bypasses it; {f.column2} is not "
                                    f"paid when billed with {f.column1}.")
        bypass = next((m for m in line2.modifiers if m in NCCI_ASSOCIATED_MODIFIERS), None)
        if bypass:
            return "bypassed", bypass, (f"{head} Modifier indicator 1 and modifier {bypass} on the {f.column2} line "
                                        "bypass the edit, provided the documentation supports a distinct service.")
        on_column1 = [m for m in line1.modifiers if m in NCCI_ASSOCIATED_MODIFIERS]
        hint = (f" Modifier {on_column1[0]} is on the column 1 line; NCCI expects it on the column 2 line."
                if on_column1 else "")
        return "denied", None, (f"{head} Modifier indicator 1: {f.column2} is not paid with {f.column1} unless an "
                                f"NCCI-associated modifier (e.g. 59, XE, XP, XS, XU) on the {f.column2} line "
                                f"documents a distinct service.{hint}")

    # ------------------------------------------------------------ add-on codes (rag/findings_mpfs.py)

    def _addons(self, lines: Sequence[ClaimLine], dates: list[date], result: ClaimCheck) -> None:
        # Every line: a code listed in the add-on edit file exists even where no code set describes it.
        claim = [(i, line.code, _yyyymmdd(dates[i])) for i, line in enumerate(lines)]
        for problem, sourced in addons_without_primary(self.store, claim):
            problem.citation = self._cite(result, addon_citation(sourced))
            result.addons.append(problem)

    # ------------------------------------------------------------ diagnoses against billing articles

    def _diagnoses(self, lines: Sequence[ClaimLine], dates: list[date], usable: list[int], result: ClaimCheck) -> None:
        """Informational: whether a line's diagnosis is on the covered list of the articles for its code (needs
        the MCD download's article code lists); it does not make a claim unclean."""
        if not any(lines[i].diagnoses for i in usable):
            return
        if not self.store.has_code_lists():
            result.notes.append("No billing-article code lists (MCD download) are loaded, so diagnoses were not "
                                "checked against covered lists.")
            return
        finder = CoverageFinder(self.store)
        for index in usable:
            for diagnosis in lines[index].diagnoses:
                for verdict in finder.diagnosis_verdicts(lines[index].code, diagnosis, _yyyymmdd(dates[index])):
                    self._cite(result, verdict.article.citation)
                    result.coverage.append(verdict)

    # ------------------------------------------------------------ MUE

    def _mue(self, lines: Sequence[ClaimLine], dates: list[date], usable: list[int], dataset: str,
             result: ClaimCheck) -> None:
        groups: dict[tuple[str, date], list[int]] = defaultdict(list)
        for index in usable:
            groups[(lines[index].code, dates[index])].append(index)
        for (code, on), members in groups.items():
            for sourced in self.store.mue(code, dataset):
                limit = sourced.fact
                finding = mue_finding(sourced)
                per_line = limit.adjudication_indicator == 1
                batches = [[m] for m in members] if per_line else [members]
                for batch in batches:
                    units = sum(lines[i].units for i in batch)
                    if units <= limit.value:
                        continue
                    scope = ("on one claim line" if per_line else f"on {on.isoformat()}"
                             + (f" ({len(batch)} lines added up)" if len(batch) > 1 else ""))
                    text = (f"{units} units of {code} {scope} exceed the MUE of {limit.value} "
                            f"({table_name(finding.dataset)}, {finding.version}, row {limit.row}); adjudication "
                            f"indicator {limit.adjudication_indicator}: {finding.indicator_meaning}.")
                    citation = self._cite(result, mue_citation(sourced))
                    result.mue.append(MueExcess(lines=batch, code=code, units=units, limit=limit.value,
                                                excess=units - limit.value, date_of_service=on, explanation=text,
                                                mue=finding, citation=citation))
