"""The extractive composer (rag/compose.py): facts first, then the passages' most relevant sentences, each
sentence ending in its citation markers; plus attribution of generated (LLM) sentences to their sources."""

from __future__ import annotations

import pytest

from rag.answer import Sentence
from rag.compose import (CitationBook, attribute_citations, best_sentences, compose_extractive, last_sentence_end,
                         passage_citation, render, split_sentences)
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

def test_split_sentences_splits_prose_and_list_items_and_drops_fragments():
    text = ("## Heading\nThe first sentence is long enough to keep. The second one is also long enough.\n"
            "- **A list item** that is long enough to be a unit\n- short\n1. A numbered item long enough to count")
    units = split_sentences(text)
    assert units == ["Heading"][:0] + ["The first sentence is long enough to keep.",
                                       "The second one is also long enough.",
                                       "A list item that is long enough to be a unit",
                                       "A numbered item long enough to count"]


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


def test_a_lead_in_brings_the_list_after_it():
    text = ("Medicare pays one global fee for the surgical package.\nThe package includes:\n"
            "- preoperative visits after the decision to operate;\n- the operation itself and local anesthesia;\n"
            "- postoperative visits related to recovery;\n- supplies, except those paid separately;\n"
            "- miscellaneous services such as dressing changes.\nUnrelated closing words are written here.")
    chosen = best_sentences("What does the global surgical package include?", text, [], 2)
    assert chosen[1] == "The package includes:"
    assert "postoperative visits related to recovery;" in chosen
    assert len(chosen) == 6 and "Unrelated" not in " ".join(chosen)


def test_best_sentences_falls_back_to_the_first_sentence_when_nothing_overlaps():
    text = "Completely unrelated words live here together. Another sentence of nothing in common."
    assert best_sentences("kyphoplasty", text, [], 2) == ["Completely unrelated words live here together."]


# ---------------------------------------------------------------- composing

def test_facts_come_first_then_passages_each_with_its_marker():
    book = CitationBook()
    facts = [fact("CPT 22514: lumbar kyphoplasty.", codes=("22514",))]
    hits = [hit("Kyphoplasty needs documented failure of conservative care for six weeks.", doc_id="lcd")]
    sentences = compose_extractive("kyphoplasty coverage 22514", facts, hits, ["22514"], book)
    assert sentences[0].text == "CPT 22514: lumbar kyphoplasty." and sentences[0].citations == [1]
    assert sentences[1].citations == [2] and "conservative care" in sentences[1].text
    assert [c.kind for c in book.citations] == ["reference", "passage"]


def test_passages_much_less_similar_than_the_best_are_not_quoted():
    book = CitationBook()
    hits = [hit("Modifier 59 marks a distinct procedural service on the same day.", similarity=0.70, doc_id="a"),
            hit("Telehealth place of service codes are 02 and 10 for patients.", similarity=0.40, doc_id="b")]
    sentences = compose_extractive("When do I use modifier 59?", [], hits, [], book)
    assert [c.locator for c in book.citations] == ["section A section"]
    assert all("Telehealth" not in s.text for s in sentences)


def test_no_more_than_three_passages_and_two_with_facts():
    hits = [hit(f"Modifier 59 sentence number {i} about distinct services.", doc_id=f"d{i}", title=f"Doc {i}")
            for i in range(6)]
    alone = CitationBook()
    compose_extractive("modifier 59 distinct", [], hits, [], alone)
    assert len(alone.citations) == 3
    with_facts = CitationBook()
    compose_extractive("modifier 59 distinct", [fact("Modifier 59: distinct service.")], hits, [], with_facts)
    assert len([c for c in with_facts.citations if c.kind == "passage"]) == 2


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
