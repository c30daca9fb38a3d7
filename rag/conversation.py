"""Follow-up questions: "and with XU?", "same for 27446", "what if both sides?" carry the codes, setting and
intent of the previous turn. A follow-up with nothing to follow gets a clarifying question instead of a guess."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from pydantic import BaseModel, Field

from rag.codes import recognize

# A follow-up opens like one ("and with XU?", "same for 27446", "what if both sides?"); a question that merely
# contains "instead" or "both" ("When do I use XS instead of 59?") stands on its own.
FOLLOW_UP = re.compile(
    r"^\s*(?:and|also|or|but|what about|how about|same|what if|then|with|for|ok(?:ay)?|so|is it|what replaced it)\b",
    re.I)
MAX_FOLLOW_UP_WORDS = 10
MODIFIER_ONLY = re.compile(r"(?<![\w-])(?:X[EPSU]|59|2[45]|5[078]|7[6-9]|91|LT|RT|50|26|TC)(?![\w-])")
CLARIFY = ("Which code or service do you mean? I have no earlier question to go on: ask again with the code or "
           "the service, for example \"Can 22511 and 22514 be billed together?\".")


class Turn(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field("", max_length=8000, description="the answer given (optional; codes are read from the "
                                                         "questions)")


@dataclass(frozen=True)
class InContext:
    question: str  # what is understood: the follow-up with the previous turn's codes and words carried over
    follow_up: bool
    clarify: bool  # a follow-up with no earlier turn: ask which code or service is meant


SIDE = re.compile(r"\b(left|right|bilateral|both sides)\b", re.I)
SIDE_FILLER = re.compile(r"\b(?:and|or|but|what|how|about|if|the|one|side|sides|for|then|instead|it|is|same)\b|[?!.,]",
                         re.I)


def _other_side(question: str, previous: str) -> str | None:
    """"And the left one?" after "pain in right knee": the previous question with the other side in its place."""
    asked, before = SIDE.search(question), SIDE.search(previous)
    if not asked or not before or asked.group(1).lower() == before.group(1).lower():
        return None
    side = "bilateral" if asked.group(1).lower() == "both sides" else asked.group(1).lower()
    carried = f"{previous[:before.start()]}{side}{previous[before.end():]}"
    rest = " ".join(SIDE_FILLER.sub(" ", SIDE.sub(" ", question)).split())
    return f"{carried} {rest}".strip()


def is_follow_up(question: str) -> bool:
    return bool(FOLLOW_UP.search(question)) and len(question.split()) <= MAX_FOLLOW_UP_WORDS


def in_context(question: str, history: Sequence[Turn] = ()) -> InContext:
    if not is_follow_up(question):
        return InContext(question, False, False)
    previous = next((t.question for t in reversed(history) if recognize(t.question).codes
                     or len(t.question.split()) > 3), None)
    if previous is None:
        has_subject = bool(recognize(question).codes) and not re.match(r"^\s*(?:same|and|also)\b", question, re.I)
        return InContext(question, False, not has_subject)
    new_codes = [m.code for m in recognize(question).codes if not m.alternative]
    old_codes = [m.code for m in recognize(previous).codes if not m.alternative]
    if new_codes and old_codes:
        carried = previous
        # "same for 27446": the new code takes the place of the last one asked about
        for old, new in zip(reversed(old_codes), reversed(new_codes)):
            carried = re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", new, carried)
        extra = re.sub(r"(?<![\w.])(?:" + "|".join(map(re.escape, new_codes)) + r")(?![\w])", " ", question)
        return InContext(f"{carried} {extra}".strip(), True, False)
    sided = _other_side(question, previous)
    if sided is not None:
        return InContext(sided, True, False)
    if MODIFIER_ONLY.search(question) and not re.search(r"\bmod(?:ifier)?s?\b", question, re.I):
        question = MODIFIER_ONLY.sub(lambda m: f"modifier {m.group(0)}", question)  # "and with XU?"
    return InContext(f"{previous} {question}", True, False)
