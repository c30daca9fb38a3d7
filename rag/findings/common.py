"""What every kind of finding shares: the fact type, the citation builders, dates and table names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer import Citation, CitedFact
from rag.codes import codes_in
from rag.stores.reference import Sourced
from rag.stores.schema import DATASETS, Release, row_locator

TABLE_NAMES = {"ptp_practitioner": "practitioner", "ptp_hospital": "outpatient hospital",
               "mue_practitioner": "practitioner", "mue_hospital": "outpatient hospital", "mue_dme": "DME supplier"}


@dataclass
class Fact:
    """One sentence of an answer and the source it rests on (marker assigned by the composer)."""

    text: str
    citation: Citation
    codes: tuple[str, ...] = ()
    also: tuple[Citation, ...] = ()  # further rows the same sentence rests on (a list of LCDs, one row each)
    table_missing: bool = False  # says a table the question needs is not loaded (rag.findings.missing)

    def __post_init__(self) -> None:
        # The fact's text is derived from the cited record, so every code it names is grounded there.
        self.citation.codes = list(dict.fromkeys([*self.citation.codes, *self.codes, *codes_in(self.text)]))


@dataclass
class CodeToCompare:
    """A code to name beside the answer's code (rag.answer.Alternative once its citation has a marker)."""

    code: str
    description: str
    differs: str
    citation: Citation


def spoken_codes(codes: Sequence[str]) -> str:
    """Codes as a sentence names them: "22511 and 22514"; three or more as a list."""
    return " and ".join(codes) if len(codes) <= 2 else ", ".join(codes)


def format_date(value: int | None) -> str:
    if not value or value >= 99991231:
        return "none"
    text = str(value)
    return f"{text[:4]}-{text[4:6]}-{text[6:]}"


def table_name(dataset: str) -> str:
    return TABLE_NAMES.get(dataset, dataset)


def reference_citation(sourced: Sourced, snippet: str, row: int | None, codes: tuple[str, ...] = (), *,
                       fact: CitedFact | None = None, values: dict[str, int | str] | None = None) -> Citation:
    """The citation of a row of a reference table (``row`` None: the table as a whole)."""
    return release_citation(sourced.release, snippet, row, codes, fact=fact, values=values)


def release_citation(release: Release, snippet: str, row: int | None, codes: tuple[str, ...] = (), *,
                     fact: CitedFact | None = None, values: dict[str, int | str] | None = None) -> Citation:
    spec = DATASETS[release.dataset]
    return Citation(marker=0, kind="reference", source=release.dataset, title=spec.title, version=release.version,
                    locator=row_locator(row) if row else "whole table", row=row or None, fact=fact,
                    values=dict(values or {}), url=spec.official_url, snippet=snippet, codes=list(codes))


def absence_citation(release: Release, codes: tuple[str, ...], fact: CitedFact = "absence") -> Citation:
    """The citation of a table in which no row names ``codes``: the absence is the fact cited."""
    return release_citation(release, f"no row for {'/'.join(codes)}", None, codes, fact=fact)
