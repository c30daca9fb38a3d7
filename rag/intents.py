"""Routing a question to the intents it holds; several can hold at once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer import Intent
from rag.codes import Recognized, recognize

PAIR_WORDS = re.compile(r"\b(together|bundl\w*|same (day|session|encounter|claim)|ncci|ptp|edits?|separately|"
                        r"both|along with|column ?[12]|pair|conflict|mutually exclusive|with)\b", re.I)
UNIT_WORDS = re.compile(r"\b(units?|mue|how many|maximum|max|per day|limit|times a day|medically unlikely)\b", re.I)
MODIFIER_WORDS = re.compile(r"\bmodifiers?\b|\bmod\b", re.I)
COVERAGE_WORDS = re.compile(r"\b(cover(ed|age|s)?|lcd|ncd|medical(ly)? necess\w*|pay for|reimburs\w*|"
                            r"payable|criteria|abn)\b", re.I)
LOOKUP_WORDS = re.compile(r"\b(what (is|are|does)|describe|descriptor|meaning|definition|stand for|"
                          r"look ?up|code for|tell me about|explain)\b", re.I)
GUIDELINE_WORDS = re.compile(r"\b(how (do|should|to)|when (do|should|to|can)|guideline|rule|document\w*|level|"
                             r"time|global|add-on|report|bill|sequenc\w*|instead)\b", re.I)


@dataclass
class Understood:
    question: str
    recognized: Recognized
    intents: list[Intent]

    @property
    def procedure_codes(self) -> list[str]:
        return [m.code for m in self.recognized.codes if m.code_set in ("CPT", "HCPCS") and not m.alternative]


def understand(question: str) -> Understood:
    recognized = recognize(question)
    procedures = [m for m in recognized.codes if m.code_set in ("CPT", "HCPCS") and not m.alternative]
    intents: list[Intent] = []
    if len(procedures) >= 2 and PAIR_WORDS.search(question):
        intents.append("pair_check")
    if procedures and UNIT_WORDS.search(question):
        intents.append("units")
    if recognized.modifiers or MODIFIER_WORDS.search(question):
        intents.append("modifier")
    if COVERAGE_WORDS.search(question):
        intents.append("coverage")
    bare_codes = recognized.codes and len(re.sub(r"[\W\d_]", "", question)) <= 12
    if recognized.codes and (LOOKUP_WORDS.search(question) or bare_codes or not intents):
        intents.append("code_lookup")
    if not intents or (GUIDELINE_WORDS.search(question) and not recognized.codes):
        intents.append("guideline" if GUIDELINE_WORDS.search(question) else "open")
    return Understood(question, recognized, intents)
