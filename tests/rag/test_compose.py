"""The extractive composer (rag/compose.py): facts first, then the passages' most relevant sentences, each
sentence ending in its citation markers; plus attribution of generated (LLM) sentences to their sources."""

from __future__ import annotations

import pytest

from rag.answer import Sentence
from rag.compose import (MAX_SUPPORTING, CitationBook, attribute_citations, best_sentences, compose_extractive,
                         last_sentence_end, passage_citation, passage_units, render, split_sentences)
from rag_helpers import fact, hit, reference_citation

pytestmark = pytest.mark.unit


# ---------------------------------------------------------------- citations

def test_citation_book_numbers_in_order_of_first_use_and_reuses_numbers():
    book = CitationBook()
    a = reference_citation(locator="row 1")
    b = reference_citation(locator="row 2")
    assert book.cite(a) == 1
    assert book.cite(b) == 2
    assert book.cite(reference_citation(locator="row 1")) == 1  # the same source cited again
    assert [c.marker for c in book.citations] == [1, 2]


def test_passage_citation_carries_locator_edition_and_every_code_in_the_text():
    h = hit("Report 22510 for cervical levels. Use 22513-22515 when a cavity is made.", codes=("22510",),
            section="Coding", doc_id="va")
    citation = passage_citation(h)
    assert citation.kind == "passage" and citation.locator == "section Coding" and citation.version == "2026"
    assert citation.codes == ["22510", "22513", "22515"]  # 22515 ends a sentence: still read


def test_the_same_section_cited_twice_keeps_one_number_and_the_codes_of_both():
    book = CitationBook()
    first = passage_citation(hit("Chunk one names 22510.", chunk=0))
    second = passage_citation(hit("Chunk two names 22513.", chunk=1))
    assert book.cite(first) == book.cite(second) == 1
    assert book.citations[0].codes == ["22510", "22513"]


def test_render_appends_markers():
    assert render([Sentence(text="One.", citations=[1, 2]), Sentence(text="Two.", citations=[])]) == "One. [1][2] Two."


# ---------------------------------------------------------------- sentences

def test_split_sentences_splits_prose_and_list_items_and_drops_scraps():
    text = ("## Heading\nThe first sentence is long enough to keep. The second one is also long enough.\n"
            "- **A list item** that is long enough to be a unit\n- short\n1. A numbered item long enough to count")
    assert split_sentences(text) == ["The first sentence is long enough to keep.",
                                     "The second one is also long enough.",
                                     "A list item that is long enough to be a unit",
                                     "A numbered item long enough to count"]


def test_units_know_their_paragraph_and_whether_they_are_list_items():
    units = passage_units("First paragraph sentence one is here. Sentence two is here too.\n\n"
                          "The package includes:\n- preoperative visits after the decision;\nA closing sentence of prose.")
    assert [(u.paragraph, u.list_item) for u in units] == [(0, False), (0, False), (1, False), (2, True), (2, False)]


def test_best_sentences_pick_the_ones_about_the_question_in_original_order():
    text = ("CMS publishes the tables every quarter on its website. "
            "Modifier indicator 0 means no modifier can bypass the edit. "
            "The files come as zip archives with a readme. "
            "Modifier indicator 1 means an NCCI-associated modifier may bypass the edit when documented.")
    chosen = best_sentences("What does modifier indicator 0 mean?", text, [], 2)
    assert chosen[0].startswith("Modifier indicator 0")
    assert len(chosen) == 2 and chosen[1].startswith("Modifier indicator 1")


def test_best_sentences_prefer_sentences_naming_the_codes_asked_about():
    text = ("Vertebroplasty injects cement without a cavity and is reported per level. "
            "Code 22514 is the lumbar kyphoplasty, reported once per level.")
    assert best_sentences("how is it reported per level", text, ["22514"], 1) == [
        "Code 22514 is the lumbar kyphoplasty, reported once per level."]


def test_best_sentences_never_return_a_lead_in_or_a_sentence_pointing_back():
    text = ("Medicare pays one global fee for the surgical package.\nThe package includes:\n"
            "- preoperative visits after the decision to operate;\n"
            "This means the package includes postoperative visits too.")
    chosen = best_sentences("What does the global surgical package include?", text, [], 3)
    assert chosen == ["Medicare pays one global fee for the surgical package."]


# ---------------------------------------------------------------- composing

GLOBAL_90 = ("A major surgery with global indicator 090 has a 92-day global period: the day before, the day of "
             "surgery and 90 days after it. A total knee arthroplasty is a typical 090 procedure. Related visits "
             "in those 92 days are part of the global fee.")
ROUTINE_PHYSICAL = ("Medicare does not cover routine physical examinations. A preventive visit is covered only as "
                    "the IPPE or the annual wellness visit.")


def test_facts_answer_first_then_supporting_sentences_about_the_question():
    book = CitationBook()
    facts = [fact("CPT 22514: lumbar kyphoplasty.", codes=("22514",))]
    hits = [hit("Kyphoplasty needs documented failure of conservative care for six weeks.", doc_id="lcd")]
    sentences = compose_extractive("kyphoplasty coverage 22514", facts, hits, ["22514"], book).sentences
    assert sentences[0].text == "CPT 22514: lumbar kyphoplasty." and sentences[0].citations == [1]
    assert sentences[1].citations == [2] and "conservative care" in sentences[1].text
    assert [c.kind for c in book.citations] == ["reference", "passage"]


def test_a_guideline_answer_opens_with_the_sections_direct_answer_even_when_another_sentence_overlaps_more():
    book = CitationBook()
    hits = [hit(GLOBAL_90, section="Global period of a major surgery: 90 days", doc_id="gs")]
    sentences = compose_extractive("What is the global period for a total knee arthroplasty?", [], hits, [],
                                   book).sentences
    assert sentences[0].text.startswith("A major surgery with global indicator 090 has a 92-day global period")
    assert len(sentences) <= 1 + MAX_SUPPORTING


def test_a_passage_not_about_the_question_is_neither_quoted_nor_the_answer():
    book = CitationBook()
    hits = [hit(ROUTINE_PHYSICAL, similarity=0.62, section="Routine physicals", doc_id="rp"),
            hit("Kyphoplasty is covered by the MACs' LCDs for painful osteoporotic fractures; there is no NCD.",
                similarity=0.58, section="Kyphoplasty coverage", doc_id="va")]
    composed = compose_extractive("Does Medicare cover kyphoplasty?", [], hits, [], book)
    assert composed.sentences[0].text.startswith("Kyphoplasty is covered")
    assert all("routine" not in s.text.lower() for s in composed.sentences)
    assert composed.see_also == []  # the routine-physical section is not about kyphoplasty either


def test_nothing_about_the_question_gives_no_sentences():
    composed = compose_extractive("Does Medicare cover kyphoplasty?", [],
                                  [hit(ROUTINE_PHYSICAL, section="Routine physicals")], [], CitationBook())
    assert composed.sentences == []


def test_at_most_three_supporting_sentences_no_duplicates_and_other_sections_as_see_also():
    book = CitationBook()
    text = ("Modifier 59 marks a distinct procedural service on the same day. "
            "Modifier 59 is used only when no more specific X modifier describes the service. "
            "Modifier 59 marks a distinct procedural service on the same day! "
            "A separate site or a separate session supports modifier 59. "
            "Documentation must show the distinct modifier 59 service. "
            "Payers audit modifier 59 often.")
    hits = [hit(text, section="Modifier 59", doc_id="a"),
            hit("Modifier 59 and XS differ: XS names a separate structure for the distinct service.",
                section="59 versus XS", doc_id="b", similarity=0.58)]
    composed = compose_extractive("When do I use modifier 59?", [], hits, ["59"], book)
    texts = [s.text for s in composed.sentences]
    assert texts[0] == "Modifier 59 marks a distinct procedural service on the same day."
    assert len(texts) == 1 + MAX_SUPPORTING and len(set(t.rstrip(".!") for t in texts)) == len(texts)
    assert all(s.citations for s in composed.sentences)
    quoted = {c.locator for c in book.citations}
    assert all(f"section {item.title}" not in quoted for item in composed.see_also)


def test_see_also_names_relevant_sections_that_were_not_quoted():
    hits = [hit(GLOBAL_90, section="Global period of a major surgery: 90 days", doc_id="a"),
            hit("A minor procedure has a global period of 0 or 10 days and no preoperative day.",
                section="Global period of a minor procedure: 0 or 10 days", doc_id="b", similarity=0.59)]
    composed = compose_extractive("global period 090 major surgery days", [], hits, [], CitationBook())
    quoted_sections = {s.citations[0] for s in composed.sentences}
    assert quoted_sections == {1}
    assert [item.title for item in composed.see_also] == ["Global period of a minor procedure: 0 or 10 days"]
    assert render(composed.sentences, composed.see_also).endswith(
        "\nSee also: Global period of a minor procedure: 0 or 10 days.")


def test_passages_much_less_similar_than_the_best_are_not_quoted():
    book = CitationBook()
    hits = [hit("Modifier 59 marks a distinct procedural service on the same day.", similarity=0.70, doc_id="a"),
            hit("Telehealth place of service codes are 02 and 10 for patients.", similarity=0.40, doc_id="b")]
    sentences = compose_extractive("When do I use modifier 59?", [], hits, ["59"], book).sentences
    assert [c.locator for c in book.citations] == ["section A section"]
    assert all("Telehealth" not in s.text for s in sentences)


# ---------------------------------------------------------------- generated sentences (LLM path)

def test_last_sentence_end_waits_for_the_next_sentence_to_start():
    assert last_sentence_end("22511 is column 1 [1]") == 0
    text = "22511 is column 1. [1] The modifier"
    assert text[:last_sentence_end(text)] == "22511 is column 1. [1] "
    assert last_sentence_end("First line without a stop\nsecond") == len("First line without a stop\n")


def test_generated_sentences_keep_valid_markers_and_get_one_when_a_source_supports_them():
    citations = [reference_citation(snippet="22511 22514 modifier 1 Misuse of column two code").model_copy(
        update={"marker": 1, "title": "Medicare NCCI PTP edits"}),
        reference_citation(snippet="Modifier 59 distinct procedural service").model_copy(update={"marker": 2})]
    drafts = [Sentence(text="22511 is column 1 and 22514 is column 2; modifier indicator 1 allows a modifier.",
                       citations=[1])]
    sentences = [Sentence(text="The modifier 59 marks a distinct service.", citations=[2]),
                 Sentence(text="22514 is column 2 and a modifier is allowed.", citations=[]),
                 Sentence(text="The weather in Paris is lovely in spring.", citations=[]),
                 Sentence(text="Cites a marker that does not exist.", citations=[9]),
                 Sentence(text="The modifier  59 marks a distinct service.", citations=[2])]  # a repeat
    kept = attribute_citations(sentences, citations, drafts)
    assert [(s.text, s.citations) for s in kept] == [
        ("The modifier 59 marks a distinct service.", [2]),
        ("22514 is column 2 and a modifier is allowed.", [1])]


def test_a_what_is_question_is_answered_by_the_section_defining_it():
    defines = "A medically unlikely edit (MUE) is the largest number of units of service one provider reports."
    mentions = "Some medically unlikely edit values are kept confidential and shared only with contractors."
    hits = [hit(mentions, similarity=0.494, section="Confidential MUE values", doc_id="mue#2"),
            hit(defines, similarity=0.488, section="What an MUE is", doc_id="mue#1")]
    lead = compose_extractive("What is a medically unlikely edit?", [], hits, [], CitationBook()).sentences[0]
    assert lead.text == defines


def test_the_section_whose_heading_names_the_indicator_asked_about_answers():
    zero = "A PTP modifier indicator of 0 means no modifier bypasses the edit; indicator 9 is covered elsewhere."
    nine = "A PTP modifier indicator of 9 means the edit does not apply to any claim."
    hits = [hit(zero, similarity=0.648, section="PTP modifier indicator 0: no bypass", doc_id="ptp#0"),
            hit(nine, similarity=0.638, section="PTP modifier indicator 9: the edit does not apply", doc_id="ptp#9")]
    lead = compose_extractive("What does modifier indicator 9 mean in the NCCI PTP file?", [], hits, [],
                              CitationBook()).sentences[0]
    assert lead.text == nine
