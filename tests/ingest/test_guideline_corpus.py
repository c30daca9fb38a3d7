"""The bundled guideline corpus: every section answers one question and reads whole without its neighbours.

Answers quote sentences from these sections, so a section that opens with "It ..." or a lead-in whose list
lives elsewhere turns into a fragment in an answer. These rules are checked on the project's own loader.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

from ingest.loaders.documents import Document, load_markdown
from ingest.passages import document_passages

GUIDELINES = Path(__file__).resolve().parents[2] / "corpora" / "guidelines"
pytestmark = pytest.mark.unit

# Words that only make sense after the sentence before them.
DANGLING = re.compile(r"^(It|Its|This|These|They|Their|That|Those|So|Such|Also|However|But|And|Or|Then|Instead|"
                      r"Otherwise|Here|Both|Likewise|Thus|Therefore)\b")
LIST_ITEM = re.compile(r"^(\s*[-*+] |\s*\d+[.)] )")
MIN_WORDS, MAX_WORDS = 40, 180
MAX_LIST_ITEMS = 8
MIN_SECTIONS = 300  # the first corpus had 127 long sections; split one question each and grown by new topics

# Questions coders ask that the corpus must answer in a section of its own (matched against headings).
COVERED_TOPICS = [
    r"major surgery: 90 days", r"minor procedure: 0 or 10 days", r"global days indicator", r"modifier 24",
    r"modifier 57", r"modifier 58", r"modifier 78", r"modifier 79", r"same-day minor procedure",
    r"99202-99205 by total time", r"99212-99215 by total time", r"99417", r"G2212",
    r"uncertain diagnos", r"Excludes1", r"Excludes2", r"modifier indicator 0", r"modifier indicator 1",
    r"does not justify modifier 59", r"59 or an X", r"upcoding", r"same high E/M level", r"signature",
    r"late entr", r"cloned", r"resubmit", r"national coverage determination", r"NCD.*LCD", r"G0438",
    r"G0439", r"G0402", r"G0105", r"G0121", r"77067", r"77080", r"diabetes screening", r"80061",
    r"flu", r"pneumococcal", r"drug units", r"round", r"JW", r"JZ", r"add-on code", r"anesthesia time",
    r"modifier 50", r"RT and LT", r"modifier 76", r"modifier 77", r"26 and TC", r"place of service",
    r"ABN", r"GA", r"GY", r"incident-to", r"split or shared", r"POS 10", r"modifier 95",
    r"99291", r"observation", r"consultation", r"99201", r"22520-22525",
]


def _documents() -> list[Document]:
    files = sorted(p for p in GUIDELINES.glob("*.md") if p.name.lower() != "readme.md")
    return [load_markdown(path) for path in files]


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    return _documents()


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _where(document: Document, heading: str) -> str:
    return f"{document.path.name} / {heading}"


def test_every_document_names_its_official_source(documents):
    for document in documents:
        assert len(document.meta.get("source", "")) > 20, document.path.name
        assert document.url.startswith("https://"), document.path.name
        assert document.meta.get("title") and document.version, document.path.name


def test_every_section_opens_with_a_paragraph_that_stands_alone(documents):
    for document in documents:
        for section in document.sections:
            where = _where(document, section.heading)
            assert section.heading, f"{document.path.name}: text before the first '##' heading"
            first = _paragraphs(section.text)[0]
            assert not LIST_ITEM.match(first), f"{where}: opens with a list, not with the answer"
            assert not DANGLING.match(first), f"{where}: opens with a word that points at another section"
            assert not first.rstrip().endswith(":"), f"{where}: the opening paragraph is only a lead-in"
            assert re.search(r"[.!?][)\"']?$", first), f"{where}: the opening paragraph is not a whole sentence"


def test_no_lead_in_is_separated_from_its_list(documents):
    for document in documents:
        for section in document.sections:
            lines = [line for line in section.text.splitlines() if line.strip()]
            where = _where(document, section.heading)
            assert not lines[-1].rstrip().endswith(":"), f"{where}: ends with a lead-in whose list is elsewhere"
            for line, following in pairwise(lines):
                if line.rstrip().endswith(":"):
                    assert LIST_ITEM.match(following), f"{where}: {line!r} is not followed by its list"


def test_list_items_are_short_lists_of_whole_sentences(documents):
    for document in documents:
        for section in document.sections:
            where = _where(document, section.heading)
            run = 0
            for line in section.text.splitlines():
                if LIST_ITEM.match(line):
                    item = LIST_ITEM.sub("", line).strip()
                    run += 1
                    assert not DANGLING.match(item), f"{where}: list item points elsewhere: {item!r}"
                    assert re.match(r"[A-Z0-9*]", item), f"{where}: list item is a fragment: {item!r}"
                    assert item.endswith((".", ".)", ".**")), f"{where}: list item is not a sentence: {item!r}"
                    assert run <= MAX_LIST_ITEMS, f"{where}: list longer than {MAX_LIST_ITEMS} items"
                elif line.strip():
                    run = 0


def test_each_section_is_one_passage_of_answer_size(documents):
    for document in documents:
        for section in document.sections:
            words = len(section.text.split())
            assert MIN_WORDS <= words <= MAX_WORDS, f"{_where(document, section.heading)}: {words} words"
        passages = document_passages(document, "guidelines", "test")
        assert [p.section for p in passages] == [s.heading for s in document.sections], document.path.name


def test_section_titles_are_unique_across_the_corpus(documents):
    titles = [section.heading.lower() for document in documents for section in document.sections]
    duplicates = sorted({t for t in titles if titles.count(t) > 1})
    assert not duplicates, duplicates


def test_the_corpus_answers_the_topics_coders_ask(documents):
    headings = [section.heading for document in documents for section in document.sections]
    assert len(headings) >= MIN_SECTIONS, len(headings)
    missing = [topic for topic in COVERED_TOPICS if not any(re.search(topic, h, re.IGNORECASE) for h in headings)]
    assert not missing, missing


def test_the_readme_indexes_every_document(documents):
    readme = (GUIDELINES / "README.md").read_text(encoding="utf-8")
    unlisted = [d.path.name for d in documents if f"`{d.path.name}`" not in readme]
    assert not unlisted, unlisted
