"""What the query service returns. Pydantic models, so the API can serve them as they are."""

from __future__ import annotations

from typing import Literal

from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

Intent = Literal["code_lookup", "which_code", "pair_check", "units", "modifier", "coverage", "guideline", "open",
                 "out_of_scope"]
Tool = Literal["code_lookup", "which_code", "which_modifier", "drug_units", "pair_check", "units", "fee_schedule",
               "addon", "modifier", "coverage", "retrieval", "out_of_scope", "clarify", "conversation"]
CodeStatus = Literal["valid", "deleted", "unknown"]


def http_url(value: str) -> str:
    """Only an absolute http(s) URL is kept: a javascript:, data: or other URL from a source must never
    become a link in the widget or a reply."""
    value = (value or "").strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


CitedFact = Literal["code", "modifier", "ptp_edit", "no_ptp_edit", "mue", "no_mue", "listing", "absence", "passage"]


class Citation(BaseModel):
    """Where a fact was read. The structured fields (source, version, row, codes, fact, values) are what
    programs read; ``title``, ``locator`` and ``snippet`` are for people."""

    marker: int = Field(description="the [n] used in the answer text")
    kind: Literal["reference", "passage"]
    source: str = Field(description="dataset (e.g. ptp_practitioner) or passage source (e.g. guidelines)")
    title: str
    version: str = Field(description="release of the source: quarter, year or edition")
    locator: str = Field(description="row, page or section within the source")
    row: int | None = Field(None, description="the row of a reference table the fact was read from")
    fact: CitedFact | None = Field(None, description="what the cited row (or its absence) states")
    values: dict[str, int | str] = Field(default_factory=dict,
                                         description="the cited row's values (e.g. modifier_indicator, mue)")
    url: str = ""
    snippet: str = ""
    score: float | None = None
    codes: list[str] = Field(default_factory=list, description="the codes the cited row or passage names")

    _http_only = field_validator("url")(classmethod(lambda cls, value: http_url(value)))


class SeeAlso(BaseModel):
    """A related section named after the answer, for the reader to open; its text is not in the answer."""

    title: str
    source: str
    version: str = ""
    locator: str = ""
    url: str = ""

    _http_only = field_validator("url")(classmethod(lambda cls, value: http_url(value)))


class Alternative(BaseModel):
    """A code named after the answer for the reader to compare with the one it leads with: what tells the two
    apart, and the row it was read from. Not a claim of the answer, so not one of its sentences."""

    code: str
    description: str
    differs: str = Field(description="the words of its descriptor that the leading code's lacks")
    citation: int = Field(description="marker of the citation of its code row")


class Sentence(BaseModel):
    text: str
    citations: list[int] = Field(default_factory=list)


class CodeCheck(BaseModel):
    code: str
    code_set: str = ""
    status: CodeStatus
    description: str = ""
    termination_date: int | None = None
    suggestions: list[str] = Field(default_factory=list)


class PtpFinding(BaseModel):
    column1: str
    column2: str
    modifier_indicator: int
    modifier_meaning: str
    effective_date: int
    deletion_date: int | None
    active: bool
    rationale: str
    dataset: str
    version: str
    row: int


class MueFinding(BaseModel):
    code: str
    value: int
    adjudication_indicator: int
    indicator_meaning: str
    rationale: str
    dataset: str
    version: str
    row: int


class PlanStep(BaseModel):
    """One tool the answer ran, and why: the plan is part of every answer."""

    tool: Tool
    why: str


class Answer(BaseModel):
    answer: str
    sentences: list[Sentence]
    citations: list[Citation]
    codes: list[CodeCheck] = Field(default_factory=list, description="every code in question and answer, checked")
    intents: list[Intent]
    plan: list[PlanStep] = Field(default_factory=list, description="the tools that ran for this answer, and why")
    alternatives: list[Alternative] = Field(default_factory=list,
                                            description="other codes to compare with the code the answer leads with")
    see_also: list[SeeAlso] = Field(default_factory=list, description="related sections, named but not quoted")
    abstained: bool = False
    removed_codes: list[str] = Field(default_factory=list, description="codes the guard took out of the answer")
    ptp: list[PtpFinding] = Field(default_factory=list)
    mue: list[MueFinding] = Field(default_factory=list)
    generator: str = "extractive"
    timings_ms: dict[str, float] = Field(default_factory=dict)


class CodeHit(BaseModel):
    code: str
    code_set: str
    description: str
    score: float
    status: CodeStatus = "valid"
    source: str = ""
