"""NCCI medically unlikely edits: the finding, its citation and its sentence."""

from __future__ import annotations

from rag.answer import Citation, MueFinding
from rag.findings.common import absence_citation, reference_citation, table_name
from rag.stores.reference import Sourced
from rag.stores.schema import MUE_ADJUDICATION_INDICATORS, MueLimit, Release


def mue_finding(sourced: Sourced[MueLimit]) -> MueFinding:
    limit = sourced.fact
    return MueFinding(code=limit.code, value=limit.value, adjudication_indicator=limit.adjudication_indicator,
                      indicator_meaning=MUE_ADJUDICATION_INDICATORS.get(limit.adjudication_indicator, ""),
                      rationale=limit.rationale, dataset=sourced.release.dataset, version=sourced.release.version,
                      row=limit.row)


def mue_citation(sourced: Sourced[MueLimit]) -> Citation:
    limit = sourced.fact
    return reference_citation(
        sourced, f"{limit.code},{limit.value},{limit.adjudication_indicator},{limit.rationale}", limit.row,
        (limit.code,), fact="mue",
        values={"code": limit.code, "mue": limit.value, "adjudication_indicator": limit.adjudication_indicator})


def mue_sentence(finding: MueFinding, units: int | None = None) -> str:
    text = (f"The MUE for {finding.code} ({table_name(finding.dataset)}, {finding.version}) is {finding.value} unit"
            f"{'s' if finding.value != 1 else ''}; adjudication indicator {finding.adjudication_indicator} "
            f"({finding.indicator_meaning}). Rationale: {finding.rationale}.")
    if units is not None:
        verdict = "exceeds" if units > finding.value else "is within"
        text += f" {units} units {verdict} this MUE."
    return text


def no_mue_citation(release: Release, code: str) -> Citation:
    return absence_citation(release, (code,), fact="no_mue")


def no_mue_sentence(release: Release, code: str) -> str:
    return (f"{code} has no published MUE in the {table_name(release.dataset)} table ({release.version}); CMS does "
            f"not publish every MUE value.")
