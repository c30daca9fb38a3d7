"""Routing a question to the intents it holds; several can hold at once."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from rag.answer import Intent
from rag.codes import Recognized, recognize
from rag.scope import out_of_scope
from rag.which_code import asks_which_code, wanted_code_sets

PAIR_WORDS = re.compile(r"\b(together|bundl\w*|same (day|session|encounter|claim)|ncci|ptp|edits?|separately|"
                        r"both|along with|column ?[12]|pair|conflict|mutually exclusive|with)\b", re.I)
BILLING_VERBS = re.compile(r"\b(bill|report|code|submit|charge)\w*\b", re.I)
UNIT_WORDS = re.compile(r"\b(units?|mue|how many(?! (?:minutes|hours|days|years|months|visits))|maximum|max|per day|"
                        r"limit|times a day|medically unlikely)\b", re.I)
MODIFIER_WORDS = re.compile(r"\bmodifiers?\b|\bmod\b", re.I)
COVERAGE_WORDS = re.compile(r"\b(cover(ed|age|s)?|lcds?|ncds?|macs?|jurisdictions?|medical(ly)? necess\w*|pay for|reimburs\w*|"
                            r"payable|criteria|abn|requirements?|in effect|eligib\w*)\b", re.I)
LOOKUP_WORDS = re.compile(r"\b(what (is|are|does)|describe|descriptor|meaning|definition|stand for|"
                          r"look ?up|code for|tell me about|explain)\b", re.I)
GUIDELINE_WORDS = re.compile(r"\b(how (do|does|is|are|should|to|often|many|long|much)|"
                             r"when (do|does|should|can|to|is|are)|mean\w*|difference|guidelines?|rules?|"
                             r"document\w*|level\w*|time|global|add-on|report\w*|bill\w*|cod(ed|ing)|sequenc\w*|"
                             r"instead|ncci|ptp|mue|mai|edits?|claims?|payers?|medicare|medicaid|cms|required|"
                             r"indicators?|period|package|denials?|denied|appeal\w*|allowed|files?|hierarchy|"
                             r"character|carc|remittance)\b", re.I)
# A how-to about named codes ("how many units of 17003 do I report") also wants the guidance, not only the table.
HOW_TO = re.compile(r"\b(how (do|should|would|can) (i|we|you)|(do|should) (i|we|you) (report|bill|code|use)|"
                    r"when (do|should|can|to)\b)", re.I)
# A question that asks for a code ("what is the code for a lipid panel") is answered from code passages.
CODE_REQUEST = re.compile(r"\b(which|what)\s+(?:\w+\s+){0,2}codes?\b(?!\s+(?:gets?|is paid|pairs?))|"
                          r"\bcodes?\s+(for|to use|describes?)\b|\bhow (do|should) (i|we|you) code\b", re.I)


# Words that only route a question about named codes (lookup, pair, units). A question about codes with two or
# more other content words ("what total time supports 99214 under the 2024 thresholds") also wants guidance.
ROUTING_WORDS = set("""what is are does do did describe description descriptor tell me about code codes cpt hcpcs icd
icd-10 icd-10-cm 10 cm mean means meaning stand for look up lookup explain how many much units unit per day days
maximum max mue mues limit limits there an the a of for on in be billed bill billing reported report reporting can
could i we you together same session encounter claim line bundled bundle bundling edit edits ncci ptp between and
with it this that these those or both along pair paired separately allowed medically unlikely times any valid
still active number please quick question to""".split())
WORD = re.compile(r"[a-z0-9][a-z0-9.-]*", re.I)


def residual_words(question: str, recognized: Recognized) -> list[str]:
    codes = {c.lower() for c in recognized.code_strings} | {m.lower() for m in recognized.modifiers}
    words = [w.lower().strip("-.") for w in WORD.findall(question)]
    return [w for w in words if w and w not in ROUTING_WORDS and w not in codes and not w.isdigit()
            and not any(w.replace(".", "") == c.replace(".", "") for c in codes)]


@dataclass
class Understood:
    question: str
    recognized: Recognized
    intents: list[Intent]

    @property
    def procedure_codes(self) -> list[str]:
        return [m.code for m in self.recognized.codes if m.code_set in ("CPT", "HCPCS") and not m.alternative]


def understand(question: str, words: Collection[str] = ()) -> Understood:
    """The question's codes and intents; ``words`` are code-shaped tokens known to be words ("B12" in "B12 shot")."""
    recognized = recognize(question)
    if words:
        recognized = replace(recognized, codes=[m for m in recognized.codes if m.code not in words])
    if out_of_scope(question):
        return Understood(question, recognized, ["out_of_scope"])
    procedures = [m for m in recognized.codes if m.code_set in ("CPT", "HCPCS") and not m.alternative]
    intents: list[Intent] = []
    if len(procedures) >= 2 and (PAIR_WORDS.search(question) or BILLING_VERBS.search(question)):
        intents.append("pair_check")
    if procedures and (UNIT_WORDS.search(question) or recognized.units):
        intents.append("units")
    if recognized.modifiers or MODIFIER_WORDS.search(question):
        intents.append("modifier")
    if COVERAGE_WORDS.search(question):
        intents.append("coverage")
    bare_codes = recognized.codes and len(re.sub(r"[\W\d_]", "", question)) <= 12
    if recognized.codes and (LOOKUP_WORDS.search(question) or bare_codes or not intents):
        intents.append("code_lookup")
    if recognized.codes:
        residual = residual_words(question, recognized)
        if HOW_TO.search(question) or len(residual) >= 2 or "difference" in residual:
            intents.append("guideline")
    else:
        if asks_which_code(question) or CODE_REQUEST.search(question) or wanted_code_sets(question):
            intents.append("which_code")
        if GUIDELINE_WORDS.search(question):
            intents.append("guideline")
    if not intents:
        intents.append("open")
    return Understood(question, recognized, intents)
