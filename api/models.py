"""Request and response models of the HTTP API that are not already rag models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from rag.answer import CodeHit
from rag.claims import ClaimLine, Setting
from rag.conversation import Turn

CODE_PATTERN = r"^[A-Za-z0-9.]{1,12}$"
MAX_QUESTION_CHARS = 2000  # the schema's cap; settings.max_question_chars may set a lower one
Code = Annotated[str, Field(pattern=CODE_PATTERN, description="a CPT, HCPCS Level II or ICD-10-CM code")]


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, pattern=r"[A-Za-z0-9]",
                          description="the coder's question (with at least one letter or digit); it may contain "
                                      "patient details and is never logged unless the server runs with "
                                      "CASEPILOT_LOG_QUESTIONS=true",
                          examples=["Can 22511 and 22514 be billed together?"])
    codes: list[Code] = Field(default_factory=list, max_length=20, description="codes to consider with the question")
    top_k: int | None = Field(None, ge=1, le=20, description="passages to retrieve (default from settings)")
    generator: Literal["extractive", "llm"] = Field(
        "extractive", description="extractive (default) or llm when the server has an LLM endpoint configured")
    history: list[Turn] = Field(default_factory=list, max_length=10,
                                description="the conversation's previous turns, oldest first: a follow-up "
                                            "(\"and with XU?\", \"same for 27446\") carries their codes")

    @field_validator("codes")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [code.upper() for code in value]


class ClaimCheckRequest(BaseModel):
    lines: list[ClaimLine] = Field(min_length=1, max_length=50, description="the claim's service lines")
    setting: Setting = Field("practitioner", description="which NCCI tables apply")

    model_config = {"json_schema_extra": {"examples": [{"lines": [
        {"code": "22511", "modifiers": [], "units": 1}, {"code": "22514", "modifiers": ["XS"], "units": 1}]}]}}


class SearchResults(BaseModel):
    query: str
    code_set: str | None = None
    results: list[CodeHit]


class ErrorBody(BaseModel):
    error: str = Field(description="what went wrong, in words")
    detail: list[dict] | None = Field(None, description="per-field problems of an invalid request")


class NotFoundBody(BaseModel):
    error: str
    code: str | None = None
    suggestions: list[str] = Field(default_factory=list, description="the closest valid codes")


class QuotaBody(BaseModel):
    error: str
    tier: Literal["guest", "registered"]
    limit: int
    retry_after: int = Field(description="seconds until the quota resets (midnight UTC)")


class Health(BaseModel):
    status: Literal["ok", "starting", "failed"]
    detail: str = Field("", description="why not ready; when ready, the warning about the datasets not loaded")
    releases: dict[str, str] = Field(default_factory=dict, description="dataset -> the active release it serves")
    missing: dict[str, str] = Field(default_factory=dict,
                                    description="dataset -> its title, for every dataset with no release loaded "
                                                "(answers cannot use it)")
