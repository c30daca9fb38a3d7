"""Exact intents answered from the reference store, deterministically: no similarity, no model.

The findings themselves (their typed form, citation and sentence) are built in rag.findings; this module
decides which to gather for a question."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from rag.answer import MueFinding, PtpFinding
from rag.findings.codes import check_code, code_facts, describe, listing_facts
from rag.findings.common import TABLE_NAMES, Fact, format_date, reference_citation
from rag.findings.missing import loaded, missing_table_fact
from rag.findings.modifiers import em_pair_fact, modifier_facts
from rag.findings.mue import mue_citation, mue_finding, mue_sentence, no_mue_citation, no_mue_sentence
from rag.findings.ptp import (no_ptp_edit_citation, no_ptp_edit_sentence, ptp_citation, ptp_finding,
                              ptp_sentence)
from rag.stores.reference import ReferenceStore
from rag.stores.schema import DATASETS

__all__ = ["TABLE_NAMES", "ExactResult", "Fact", "check_code", "code_facts", "describe", "format_date",
           "listing_facts", "modifier_facts", "mue_facts", "pair_facts", "ptp_finding", "reference_citation"]

MAX_PAIR_CODES = 8


@dataclass
class ExactResult:
    facts: list[Fact] = field(default_factory=list)
    ptp: list[PtpFinding] = field(default_factory=list)
    mue: list[MueFinding] = field(default_factory=list)


def pair_facts(store: ReferenceStore, codes: list[str], service_date: int | None = None) -> ExactResult:
    """Every pair of the codes against every loaded PTP table (practitioner, outpatient hospital): the edits
    found, or for a table without one a sentence that names the table and the quarter checked."""
    result = ExactResult()
    releases = store.releases()
    tables = sorted((name for name in releases if DATASETS[name].kind == "ptp"),
                    key=lambda name: (name != "ptp_practitioner", name))
    if not tables and len(codes) >= 2:
        result.facts.append(missing_table_fact("ptp", codes[:MAX_PAIR_CODES]))
    for code_a, code_b in combinations(codes[:MAX_PAIR_CODES], 2):
        for name in tables:
            edits = store.ptp_pair(code_a, code_b, dataset=name)
            for sourced in edits:
                finding = ptp_finding(sourced, service_date)
                result.ptp.append(finding)
                result.facts.append(Fact(ptp_sentence(finding), ptp_citation(sourced), (code_a, code_b)))
                if finding.active and (rule := em_pair_fact(store, finding)):
                    result.facts.append(rule)
            if not edits:
                release = releases[name]
                result.facts.append(Fact(no_ptp_edit_sentence(release, code_a, code_b),
                                         no_ptp_edit_citation(release, code_a, code_b), (code_a, code_b)))
    return result


def mue_facts(store: ReferenceStore, codes: list[str], units: list[int]) -> ExactResult:
    result = ExactResult()
    asked = max(units) if units and len(codes) == 1 else None
    if codes and not loaded(store, "mue"):
        result.facts.append(missing_table_fact("mue", codes))
        return result
    for code in codes:
        limits = store.mue(code)
        for sourced in limits:
            finding = mue_finding(sourced)
            result.mue.append(finding)
            result.facts.append(Fact(mue_sentence(finding, asked), mue_citation(sourced), (code,)))
        if not limits:
            for name, release in store.releases().items():
                if DATASETS[name].kind == "mue":
                    result.facts.append(Fact(no_mue_sentence(release, code), no_mue_citation(release, code), (code,)))
    return result
