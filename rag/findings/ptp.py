"""NCCI procedure-to-procedure edits: the finding, its citation and its sentence."""

from __future__ import annotations

from datetime import date

from rag.answer import Citation, PtpFinding
from rag.findings.common import absence_citation, format_date, reference_citation, table_name
from rag.stores.reference import Sourced
from rag.stores.schema import MODIFIER_INDICATORS, PtpEdit, Release


def ptp_finding(sourced: Sourced[PtpEdit], on: int | None = None) -> PtpFinding:
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


def ptp_citation(sourced: Sourced[PtpEdit]) -> Citation:
    edit = sourced.fact
    return reference_citation(
        sourced, f"{edit.column1}\t{edit.column2}\tmodifier {edit.modifier_indicator}\t{edit.rationale}", edit.row,
        (edit.column1, edit.column2), fact="ptp_edit",
        values={"column1": edit.column1, "column2": edit.column2, "modifier_indicator": edit.modifier_indicator,
                "effective_date": edit.effective_date, "deletion_date": edit.deletion_date})


def ptp_heading(finding: PtpFinding) -> str:
    """Which table, which release, which codes in which column: the opening every PTP statement shares."""
    return (f"NCCI PTP edit ({table_name(finding.dataset)}, {finding.version}): {finding.column1} is column 1 and "
            f"{finding.column2} is column 2")


def ptp_sentence(finding: PtpFinding) -> str:
    dates = ("the source lists no effective or deletion dates" if finding.effective_date == 0 else
             f"effective {format_date(finding.effective_date)}, deletion date {format_date(finding.deletion_date)}")
    status = "" if finding.active else " This edit is not active on the date of service."
    return (f"{ptp_heading(finding)}, so {finding.column2} is not paid separately when billed with "
            f"{finding.column1}. Modifier indicator {finding.modifier_indicator}: {finding.modifier_meaning}. "
            f"Rationale: {finding.rationale}; {dates}.{status}")


def no_ptp_edit_citation(release: Release, code_a: str, code_b: str) -> Citation:
    return absence_citation(release, (code_a, code_b), fact="no_ptp_edit")


def no_ptp_edit_sentence(release: Release, code_a: str, code_b: str) -> str:
    return (f"No NCCI PTP edit pairs {code_a} and {code_b} in the {table_name(release.dataset)} table "
            f"({release.version}); the pair is not bundled by NCCI, though payer policy may still apply.")
