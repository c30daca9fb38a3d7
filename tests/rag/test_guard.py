"""The code guard (rag/guard.py): every code printed must exist and be grounded in a cited source.

The unit tests use a stand-in checker; the store tests run the real checks against the HCPCS 2020 file, which
has codes with a termination date (TERM DT), and the NCCI tables.
"""

from __future__ import annotations

import pytest
from rag_helpers import checker, reference_citation

from rag.answer import Sentence
from rag.exact import check_code
from rag.guard import guard_claims, guard_codes


def cite(marker: int, snippet: str = "", codes=()):
    """A passage citation: what a generated or quoted sentence cites."""
    return reference_citation(snippet=snippet, codes=codes).model_copy(update={"marker": marker, "kind": "passage"})


@pytest.mark.unit
def test_a_code_named_by_the_cited_reference_row_stays_though_its_code_set_is_not_loaded():
    # The deleted-codes table names G2212 as 99354's replacement; without the HCPCS file G2212 is unknown here,
    # yet the sentence states the row, so it stays; the same code cited only to a passage goes.
    row = reference_citation(codes=["99354", "G2212"]).model_copy(update={"marker": 1})
    sentence = Sentence(text="CPT 99354 was deleted; Medicare uses G2212.", citations=[1])
    kept = guard_codes([sentence], [row], checker(valid={"99354"}))
    assert [s.text for s in kept.sentences] == [sentence.text] and kept.removed == []
    dropped = guard_codes([sentence], [cite(1, codes=["99354", "G2212"])], checker(valid={"99354"}))
    assert dropped.sentences == [] and dropped.removed == ["G2212"]


@pytest.mark.unit
def test_a_grounded_valid_code_is_kept():
    guarded = guard_codes([Sentence(text="CPT 22514 is a lumbar kyphoplasty.", citations=[1])],
                          [cite(1, codes=["22514"])], checker(valid={"22514"}))
    assert guarded.sentences[0].text == "CPT 22514 is a lumbar kyphoplasty."
    assert guarded.removed == []
    assert guarded.checks["22514"].status == "valid"


@pytest.mark.unit
def test_a_sentence_with_an_unknown_code_is_removed_whole_and_the_code_reported():
    sentences = [Sentence(text="Use 22514 or 22519 for this.", citations=[1]),
                 Sentence(text="Report 22514 once per level.", citations=[1])]
    guarded = guard_codes(sentences, [cite(1, codes=["22514", "22519"])], checker(valid={"22514"}))
    # Never "Use 22514 or [code removed] for this.": a sentence with a hole says nothing a coder can use.
    assert [s.text for s in guarded.sentences] == ["Report 22514 once per level."]
    assert guarded.removed == ["22519"]
    assert guarded.checks["22519"].status == "unknown"


@pytest.mark.unit
def test_a_valid_code_absent_from_its_citations_is_removed():
    # 22513 exists, but the sentence cites a source that never mentions it: the model made the link up.
    sentences = [Sentence(text="Report 22514 together with 22513.", citations=[1])]
    guarded = guard_codes(sentences, [cite(1, snippet="22514 lumbar kyphoplasty", codes=["22514"])],
                          checker(valid={"22513", "22514"}))
    assert guarded.removed == ["22513"]
    assert guarded.sentences == []


@pytest.mark.unit
def test_a_code_grounded_in_another_sentence_citation_does_not_count():
    sentences = [Sentence(text="22514 is kyphoplasty.", citations=[1]),
                 Sentence(text="Its add-on is 22515.", citations=[])]
    guarded = guard_codes(sentences, [cite(1, codes=["22514", "22515"])], checker(valid={"22514", "22515"}))
    assert guarded.removed == ["22515"]


@pytest.mark.unit
def test_the_snippet_grounds_a_code_too():
    guarded = guard_codes([Sentence(text="J1885 is ketorolac per 15 mg.", citations=[2])],
                          [cite(2, snippet="J1885,8,3,Clinical")], checker(valid={"J1885"}))
    assert guarded.removed == []


@pytest.mark.unit
def test_a_deleted_code_is_flagged_with_its_termination_date():
    sentences = [Sentence(text="A4466 describes an elastic garment.", citations=[1])]
    guarded = guard_codes(sentences, [cite(1, codes=["A4466"])], checker(deleted={"A4466": 20161231}))
    assert "A4466" in guarded.sentences[0].text
    assert "terminated on 2016-12-31" in guarded.sentences[0].text
    assert guarded.checks["A4466"].status == "deleted"
    assert guarded.removed == []


@pytest.mark.unit
def test_a_sentence_left_empty_by_the_guard_is_dropped():
    sentences = [Sentence(text="99999.", citations=[1]), Sentence(text="20610 is a joint injection.", citations=[1])]
    guarded = guard_codes(sentences, [cite(1, codes=["20610", "99999"])], checker(valid={"20610"}))
    assert [s.text for s in guarded.sentences] == ["20610 is a joint injection."]
    assert guarded.removed == ["99999"]


@pytest.mark.unit
def test_codes_at_the_end_of_a_sentence_are_checked():
    guarded = guard_codes([Sentence(text="The code you want is 22519.", citations=[1])], [cite(1)], checker())
    assert guarded.removed == ["22519"]


@pytest.mark.unit
def test_icd10cm_codes_are_guarded_too():
    guarded = guard_codes([Sentence(text="Pair it with M80.08XA or Q99.99.", citations=[1])],
                          [cite(1, codes=["M80.08XA"])], checker(valid={"M80.08XA", "Q99.99"}))
    assert guarded.removed == ["Q99.99"]
    assert guarded.sentences == []
    kept = guard_codes([Sentence(text="Pair it with M80.08XA.", citations=[1])], [cite(1, codes=["M80.08XA"])],
                       checker(valid={"M80.08XA"}))
    assert [s.text for s in kept.sentences] == ["Pair it with M80.08XA."]


@pytest.mark.unit
def test_each_code_is_checked_once():
    calls = []
    inner = checker(valid={"20610"})

    def counting(code):
        calls.append(code)
        return inner(code)

    guard_codes([Sentence(text="20610 here.", citations=[1]), Sentence(text="20610 again.", citations=[1])],
                [cite(1, codes=["20610"])], counting)
    assert calls == ["20610"]


# ---------------------------------------------------------------- against the real reference data

@pytest.mark.store
@pytest.mark.shared_data
def test_guard_with_the_real_checks(rag_service):
    """A HCPCS 2020 code with a TERM DT is flagged, a made-up code is removed, an NCCI-only code is kept."""
    a4466 = rag_service.check("A4466")
    assert a4466.status == "deleted" and a4466.termination_date == 20161231
    assert rag_service.check("22519").status == "unknown"
    sentences = [Sentence(text="A4466 was an elastic garment code.", citations=[1]),
                 Sentence(text="Bill 22519 with 22514.", citations=[1])]
    citations = [cite(1, codes=["A4466", "22514", "22519"])]
    guarded = guard_codes(sentences, citations, lambda code: rag_service.check(code))
    assert "terminated on 2016-12-31" in guarded.sentences[0].text
    assert guarded.removed == ["22519"]
    assert len(guarded.sentences) == 1  # the sentence naming the made-up code is gone whole


# ---------------------------------------------------------------- the claim guard (issue 15, finding 4)

PTP_ROW = "22511\t22514\tmodifier 1\tMisuse of column two code with column one code"


@pytest.mark.store
@pytest.mark.parametrize("false_statement", [
    "There is no NCCI edit between 22511 and 22514.",           # the LLM sentence of the issue
    "22511 and 22514 are not bundled, so both can be billed together.",
    "59 bypasses indicator-0 edits.",                            # the other one
    "Modifier 59 overrides an edit with modifier indicator 0.",
    "The practitioner edit between 22511 and 22514 has modifier indicator 0.",
    "There is an NCCI PTP edit between 22511 and 20610.",
    "The MUE for J1885 is 10 units.",
    "You can bill up to 4 units of 22514 per day.",
    "A4466 is a valid HCPCS code.",
    "22514 was deleted.",
    "22511 does not exist.",
])
def test_a_false_statement_about_the_exact_facts_is_removed(tiny_store, false_statement):
    true = Sentence(text="22514 is a lumbar kyphoplasty code.", citations=[1])
    citations = [cite(1, snippet=PTP_ROW, codes=["22511", "22514", "20610", "J1885", "A4466"])]
    guarded = guard_codes([true, Sentence(text=false_statement, citations=[1])], citations,
                          lambda code: check_code(tiny_store, code), store=tiny_store)
    assert [s.text for s in guarded.sentences] == [true.text]
    assert [c.sentence for c in guarded.contradicted] == [false_statement]


@pytest.mark.store
@pytest.mark.parametrize("true_statement", [
    "There is an NCCI edit between 22511 and 22514.",
    "In the outpatient hospital table the edit between 22511 and 22514 has modifier indicator 0.",
    "The practitioner edit between 22511 and 22514 has modifier indicator 1, so modifier 59 can bypass it.",
    "No modifier bypasses an edit with modifier indicator 0.",
    "There is no NCCI edit between 22511 and 20610.",
    "The MUE for J1885 is 8 units.",
    "A4466 was terminated on 2016-12-31.",
    "22514 is a valid CPT code.",
])
def test_a_true_statement_is_kept(tiny_store, true_statement):
    guarded = guard_claims([Sentence(text=true_statement, citations=[1])], tiny_store)
    assert guarded.contradicted == [] and [s.text for s in guarded.sentences] == [true_statement]


@pytest.mark.store
@pytest.mark.parametrize("question", [
    "Can 22511 and 22514 be billed together?", "Can 22513 and 22514 be billed together?",
    "Can 20610 and J1885 be billed together?", "How many units of J1885 per day?", "What is the MUE for 20610?",
    "What is CPT 22514?", "Is A4466 still valid?", "Can 22511 and 20610 be billed together?",
])
def test_the_extractive_answers_pass_the_claim_guard_untouched(tiny_service, tiny_store, question):
    answer = tiny_service.ask(question)
    guarded = guard_claims(answer.sentences, tiny_store)
    assert guarded.contradicted == [], guarded.contradicted


@pytest.mark.store
@pytest.mark.shared_data
def test_the_issues_llm_sentences_are_removed_against_the_real_ncci_tables(rag_service):
    store = rag_service.reference
    sentences = [Sentence(text="There is no NCCI edit between 22511 and 22514.", citations=[1]),
                 Sentence(text="59 bypasses indicator-0 edits.", citations=[1]),
                 Sentence(text="Kyphoplasty restores vertebral height.", citations=[1])]
    guarded = guard_claims(sentences, store)
    assert [s.text for s in guarded.sentences] == ["Kyphoplasty restores vertebral height."]
    assert rag_service.reference.ptp_pair("22511", "22514")  # the row the first sentence contradicts
