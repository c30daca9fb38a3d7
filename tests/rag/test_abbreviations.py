"""Coder abbreviations spelt out for code search (rag/abbreviations.py)."""

from __future__ import annotations

import pytest

from rag.abbreviations import expand, expansions

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("question", "expanded"), [
    ("pt s/p fx lt wrist w/o displacement", "patient status post fracture left wrist without displacement"),
    ("asthma w/ exacerbation", "asthma with exacerbation"),
    ("asthma w/exacerbation", "asthma with exacerbation"),
    ("dx code rheumatoid arthritis rt hand", "diagnosis code rheumatoid arthritis right hand"),
    ("bilat knee inj w/ US guidance", "bilateral knee injection with ultrasound guidance"),
    ("htn w/ ckd stage 3", "hypertension with chronic kidney disease stage 3"),
    ("DM2 w/ hyperglycemia", "type 2 diabetes mellitus with hyperglycemia"),
    ("COPD w/ acute exac", "chronic obstructive pulmonary disease with acute exacerbation"),
    ("CHF, uti, htn", "congestive heart failure, urinary tract infection, hypertension"),
    ("hx of falls, 78 yo", "history of falls, 78 year old"),
    ("inj admin of Toradol IM", "injection administration of Toradol intramuscular"),
    ("new pt ov level 3", "new patient office visit level 3"),
    ("est pt visit", "established patient visit"),
    ("f/u visit s/p TKA", "follow up visit status post total knee arthroplasty"),
    ("lap chole", "laparoscopic cholecystectomy"),
    ("R hand laceration 3 cm", "right hand laceration 3 cm"),
    ("I&D of abscess", "incision and drainage of abscess"),
    ("E/M with a procedure", "evaluation and management with a procedure"),
])
def test_abbreviations_are_spelt_out(question, expanded):
    assert expand(question) == expanded


def test_pt_before_an_evaluation_is_physical_therapy_not_patient():
    assert expand("PT eval moderate complexity") == "physical therapy evaluation moderate complexity"
    assert expand("pt eval for knee pain") == "patient evaluation for knee pain"  # lower case: the patient


@pytest.mark.parametrize("question", [
    "Can I bill 20610-RT and 20610-LT?", "modifier RT or LT for the knee", "is RT modifier required",
    "LT and RT modifiers on 20610", "code R10.9", "L5 radiculopathy", "E11.9 and J1040 x 2", "99213 with 25",
    "post op visit in the global period", "what is the MUE for 97110", "us", "can you tell us the code",
])
def test_codes_modifiers_and_plain_words_are_left_alone(question):
    assert expand(question) == question


def test_expansions_report_what_was_replaced_and_where():
    found = expansions("pt w/ htn")
    assert [(e.abbreviation, e.words, e.start) for e in found] == [
        ("pt", "patient", 0), ("w/", "with", 3), ("htn", "hypertension", 6)]
    assert expansions("") == [] and expand("") == ""


@pytest.mark.unit
def test_everyday_phrases_become_the_code_sets_words():
    assert expand("villonodular synovitis, not specified hand") == "villonodular synovitis, unspecified hand"
    assert expand("hyperacusis, Both Sides") == "hyperacusis, bilateral"
    assert expand("specified site") == "specified site"  # only the whole phrase
