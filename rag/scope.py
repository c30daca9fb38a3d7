"""What CasePilot does not answer: clinical advice, triage and a patient's treatment.

A question is out of scope when it asks what to do for a patient and says nothing about coding or billing.
Instructions inside a question ("ignore your rules") change nothing: they are neither obeyed nor refused on
their own; the rest of the question is answered, or not, on its merits."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rag.codes import codes_in

if TYPE_CHECKING:
    from rag.intents import Understood

CLINICAL = re.compile(
    r"\b(should (?:my|the|this|a|our) (?:patient|pt|child|baby|mother|father|husband|wife)\b|"
    r"should (?:i|we|he|she|they) (?:take|give|get|start|stop|prescribe|order|treat|be seen|go to)|"
    r"(?:is|are) (?:it|they) safe to (?:take|give|use)|what (?:medication|medicine|drug|antibiotic|treatment)s? "
    r"(?:should|would|do|is best|for)|how (?:much|many mg) (?:should|do) (?:i|we|he|she) (?:give|take)|"
    r"(?:diagnose|treat) (?:my|this|a|the) (?:patient|pain|headache|rash|fever|condition)|"
    r"is (?:this|it|my) (?:\w+ )?(?:serious|an emergency|cancer|cancerous|contagious|infected|broken)|do i have|"
    r"am i having|triage|"
    r"(?:need|get) an? (?:mri|ct|x-?ray|ultrasound|scan|referral|antibiotics?)\b)", re.I)
CODING = re.compile(
    r"\b(codes?|coding|coded|bill\w*|cpt|hcpcs|icd|dx|modifiers?|units?|mue|ncci|ptp|claims?|denial|denied|"
    r"cover\w*|reimburs\w*|payable|document\w*|report\w*|global|lcd|ncd|medicare|payer)\b", re.I)
REFUSAL = ("CasePilot answers coding and billing questions; it does not give clinical advice, triage or treatment "
           "decisions. Please ask the treating clinician. If you need the codes for a service or a diagnosis, ask "
           "me for those.")


REFUSAL_INSTRUCTION = ("CasePilot answers coding and billing questions from the official code sets and CMS files; it "
                       "never makes up a code and does not set its sources aside. Ask for the code of a service or a "
                       "diagnosis, and it will look it up.")


def refusal_text(question: str) -> str:
    """The refusal that fits: a request to invent or to drop the rules is not a clinical question."""
    return REFUSAL_INSTRUCTION if INVENT.search(question) or INSTRUCTION.search(question) else REFUSAL


# An instruction to the assistant itself, or a request that is not about coding at all: answered with the same
# short refusal (the question holds nothing to look up, and the rules do not change).
INSTRUCTION = re.compile(
    r"\b(ignore (?:all |any |the |your )?(?:previous |prior |above )?(?:instructions|rules|prompts?)|"
    r"disregard (?:all |your |the )?(?:previous |prior )?(?:instructions|rules)|system prompt|developer mode|"
    r"jailbreak|pretend (?:you are|to be)|you are now|act as (?:my|a) (?:doctor|physician|nurse)|"
    r"disregard (?:the |your )?sources|translate\b|"
    r"write (?:me )?(?:a|an) (?:poem|story|song|joke|essay))",
    re.I)
# A request to make a code up: refused whatever else the question holds, because CasePilot never invents a code.
INVENT = re.compile(r"\b(?:invent|make up|fabricate|create|generate)\s+(?:me\s+)?(?:a|an|some|new)?\s*(?:\w+\s+){0,2}"
                    r"codes?\b", re.I)


def out_of_scope(question: str) -> bool:
    if INVENT.search(question):
        return True
    if INSTRUCTION.search(question) and not CODING.search(question) and not codes_in(question):
        return True  # nothing but an instruction to the assistant; one inside a coding question changes nothing
    return bool(CLINICAL.search(question)) and not CODING.search(question)


# Where the official answer lives, by what the question was about, for an answer that has no source about it.
COMPLIANCE = re.compile(r"\b(complian\w*|audit\w*|upcod\w*|fraud|abuse|overpay\w*|refund\w*|resubmit\w*|clon\w*|"
                        r"attest\w*|signatures?|late entr\w*|addend\w*|every (?:new )?patient|always bill)\b", re.I)
OFFICIAL_HOMES = {
    "compliance": "the HHS-OIG General Compliance Program Guidance, your MAC's medical review pages and your "
                  "compliance officer",
    "coverage": "the Medicare Coverage Database (NCDs, and your MAC's LCDs and billing articles) at "
                "https://www.cms.gov/medicare-coverage-database",
    "guideline": "the CMS manuals (Pub. 100-04 for claims), the NCCI Policy Manual, the CPT book's guidelines and the "
                 "ICD-10-CM Official Guidelines",
}


def no_source_text(understood: Understood) -> str:
    """The honest answer when no source is about the question: what CasePilot lacks, and where the answer is."""
    if COMPLIANCE.search(understood.question):
        home = OFFICIAL_HOMES["compliance"]
    elif "coverage" in understood.intents:
        home = OFFICIAL_HOMES["coverage"]
    else:
        home = OFFICIAL_HOMES["guideline"]
    return (f"CasePilot's sources do not cover this question, so I will not guess. The official answer lives in "
            f"{home}.")
