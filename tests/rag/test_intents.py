"""Routing a question to the intents it holds (rag/intents.py). Pure functions: no store."""

from __future__ import annotations

import pytest

from rag.intents import understand

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("question, intent", [
    ("What is CPT 22514?", "code_lookup"),
    ("22514", "code_lookup"),
    ("Describe code J1885.", "code_lookup"),
    ("What does E11.9 mean?", "code_lookup"),
    ("Can 22511 and 22514 be billed together?", "pair_check"),
    ("Is there an NCCI edit between 36556 and 36410?", "pair_check"),
    ("Are 80053 and 80048 bundled on the same day?", "pair_check"),
    ("Can I report 20610 with 20611 on the same claim?", "pair_check"),
    ("How many units of J1885 per day?", "units"),
    ("What is the MUE for 22514?", "units"),
    ("Is there an MUE limit on 96372?", "units"),
    ("J1885 x3 on one claim line", "units"),
    ("When do I use modifier XS instead of 59?", "modifier"),
    ("What does the KX modifier mean?", "modifier"),
    ("Does Medicare cover kyphoplasty?", "coverage"),
    ("What are the LCD criteria for vertebral augmentation?", "coverage"),
    ("How should I report postoperative visits inside the global period?", "guideline"),
    ("What is the capital of France?", "open"),
])
def test_primary_intent(question, intent):
    assert intent in understand(question).intents


@pytest.mark.parametrize("question, intents", [
    ("Can 22511 and 22514 be billed together, and how many units of 22514 per day?", {"pair_check", "units"}),
    ("Can I bill 20610-59 with 99213 and what does modifier 59 mean?", {"pair_check", "modifier"}),
    ("Does Medicare cover 22514 and what is its MUE?", {"coverage", "units"}),
    ("What is 20611 and how many units can I bill?", {"code_lookup", "units"}),
])
def test_several_intents_in_one_question(question, intents):
    assert intents <= set(understand(question).intents)


@pytest.mark.parametrize("question, absent", [
    ("What is CPT 22514?", "pair_check"),           # one code cannot make a pair
    ("Can 22511 and 22514 be billed together?", "units"),
    ("How many units of J1885 per day?", "pair_check"),
    ("What is CPT 22514?", "modifier"),
    ("How many days does a 090 global surgery period cover?", "units"),  # "090" is not a code
    ("What is the capital of France?", "code_lookup"),  # no code to look up
])
def test_intents_that_must_not_fire(question, absent):
    assert absent not in understand(question).intents


@pytest.mark.parametrize("question, wants_guidance", [
    ("How many units of 17003 do I report for destruction of premalignant lesions?", True),  # a how-to
    ("What total time supports 99214 under the 2024 thresholds?", True),   # more than a lookup
    ("What is the difference between 20610 and 20611?", True),
    ("What is CPT 22514?", False),                                           # template questions stay exact
    ("How many units of J1885 can be billed per day?", False),
    ("Can I report 20610 with 20611 on the same claim?", False),
    ("What does ICD-10-CM M80.08XA mean?", False),
])
def test_questions_about_codes_that_also_want_guidance(question, wants_guidance):
    assert ("guideline" in understand(question).intents) is wants_guidance


@pytest.mark.parametrize("question", ["What is the code for a lipid panel?", "Which code describes a rapid strep test?",
                                      "What code do I use for a knee joint injection without ultrasound?"])
def test_a_request_for_a_code_goes_to_code_search(question):
    assert "which_code" in understand(question).intents


def test_procedure_codes_leave_out_alternative_readings_and_diagnoses():
    understood = understand("Can J1885 and 96372 be billed together for M54.5?")
    assert understood.procedure_codes == ["J1885", "96372"]


def test_every_question_gets_at_least_one_intent():
    for question in ("", "hello", "?", "22514", "modifier"):
        assert understand(question).intents
