"""Is a passage or a sentence about the question, and can a sentence stand alone?

A coder reads an answer sentence by sentence: each must be about what was asked (its codes, its procedure or
topic), and each must make sense without the sentences around it in its source. Retrieval scores say neither:
a passage can score well on "Medicare" and "cover" and be about routine physicals when the question is about
kyphoplasty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence, Set as AbstractSet
from dataclasses import dataclass

from rag.codes import code_position
from rag.text import profile, stem, terms

# Words that say what kind of question it is, not what it is about: "Does Medicare cover kyphoplasty?" is about
# kyphoplasty. Stemmed like rag.text.terms stems them.
NOT_SUBJECT_WORDS = {stem(w) for w in """code codes coding coded cpt hcpcs icd icd10 icd-10 icd-10-cm cm dx bill billed
billing billable report reported reporting medicare medicaid cms cover covered coverage covers pay paid payment
payable use used using need needs required require allowed allow can could would we i you they get ok okay correct
right proper properly way rule rules guideline guidelines policy policies claim claims payer payers modifier
modifiers mod tell me explain what which how when why who does do did is are was be been there any every each
same also should must may might then than just only really actually ever one two please help question
quick thing things between difference differ different versus vs compare instead mean means
meaning mac macs contractor contractors lcd lcds ncd ncds article articles effect current still valid""".split()}

ANAPHORIC_OPENERS = {"it", "this", "these", "they", "those", "that", "so", "such", "both", "also", "however",
                     "then", "here", "there", "its", "their"}
LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
MIN_WORDS = 4
NEAR_DUPLICATE = 0.8


def subject_terms(question: str, codes: Iterable[str] = ()) -> set[str]:
    """The question's content words that name its subject (codes and question words left out)."""
    named = {c.lower() for c in codes}
    return {t for t in terms(question) if t not in NOT_SUBJECT_WORDS and t not in named and not t.isdigit()}


def needed_matches(subject: AbstractSet[str]) -> int:
    """How many subject words a passage must share to be about the question: one of a short subject, two of a
    longer one (a single shared word of five is as likely chance as topic)."""
    return 1 if len(subject) <= 2 else 2


@dataclass(frozen=True)
class Topic:
    """What a question is about: its subject words and the codes and modifiers it names."""

    subject: frozenset[str]
    codes: tuple[str, ...]

    @classmethod
    def of(cls, question: str, codes: Sequence[str]) -> "Topic":
        return cls(frozenset(subject_terms(question, codes)), tuple(codes))

    def names_code(self, text: str) -> bool:
        return any(code_position(text, code) is not None for code in self.codes)

    def matches(self, text: str) -> int:
        return len(self.subject & profile(text)[0])  # passages come back question after question: cached

    def passage_is_about(self, text: str) -> bool:
        if self.names_code(text):
            return True
        if not self.subject:
            return not self.codes  # nothing to judge by: a question of question words only
        return self.matches(text) >= needed_matches(self.subject)

    def sentence_is_about(self, text: str) -> bool:
        return self.names_code(text) or (bool(self.subject) and self.matches(text) > 0)


def stands_alone(sentence: str) -> bool:
    """A sentence a reader can take without its neighbours: not a lead-in to a list, not a list item cut from its
    lead-in, not opening with a word that points back ("It", "This", "So"), not a scrap."""
    text = sentence.strip()
    if not text or text.endswith(":") or LIST_MARK.match(text):
        return False
    first = re.match(r"[A-Za-z']+", text)
    if text[0].islower() or (first and first.group(0).lower() in ANAPHORIC_OPENERS):
        return False
    if text.count("(") != text.count(")") or text.count("[") != text.count("]"):
        return False
    return len(text.split()) >= MIN_WORDS


def near_duplicate(sentence: str, kept: Iterable[str]) -> bool:
    """Says again what a kept sentence says: nearly the same words, or its words nearly all inside a longer one
    (an NCD summary passage repeating the NCD fact's text)."""
    mine = terms(sentence)
    if not mine:
        return True
    for other in kept:
        theirs = terms(other)
        if theirs and (len(mine & theirs) / len(mine | theirs) >= NEAR_DUPLICATE
                       or len(mine & theirs) / len(mine) >= NEAR_DUPLICATE):
            return True
    return False
