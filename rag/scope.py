"""What CasePilot does not answer: clinical advice, triage and a patient's treatment.

A question is out of scope when it asks what to do for a patient and says nothing about coding or billing.
Instructions inside a question ("ignore your rules") change nothing: they are neither obeyed nor refused on
their own; the rest of the question is answered, or not, on its merits."""

from __future__ import annotations

import re

CLINICAL = re.compile(
    r"\b(should (?:my|the|this|a|our) (?:patient|pt|child|baby|mother|father|husband|wife)\b|"
    r"should (?:i|we|he|she|they) (?:take|give|get|start|stop|prescribe|order|treat|be seen|go to)|"
    r"(?:is|are) (?:it|they) safe to (?:take|give|use)|what (?:medication|medicine|drug|antibiotic|treatment)s? "
    r"(?:should|would|do|is best|for)|how (?:much|many mg) (?:should|do) (?:i|we|he|she) (?:give|take)|"
    r"(?:diagnose|treat) (?:my|this|a|the) (?:patient|pain|headache|rash|fever|condition)|"
    r"is (?:this|it) (?:serious|an emergency|cancer|contagious)|do i have|am i having|triage|"
    r"(?:need|get) an? (?:mri|ct|x-?ray|ultrasound|scan|referral|antibiotics?)\b)", re.I)
CODING = re.compile(
    r"\b(codes?|coding|coded|bill\w*|cpt|hcpcs|icd|dx|modifiers?|units?|mue|ncci|ptp|claims?|denial|denied|"
    r"cover\w*|reimburs\w*|payable|document\w*|report\w*|global|lcd|ncd|medicare|payer)\b", re.I)
REFUSAL = ("CasePilot answers coding and billing questions; it does not give clinical advice, triage or treatment "
           "decisions. Please ask the treating clinician. If you need the codes for a service or a diagnosis, ask "
           "me for those.")


def out_of_scope(question: str) -> bool:
    return bool(CLINICAL.search(question)) and not CODING.search(question)
