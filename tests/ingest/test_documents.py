"""Document loaders (markdown with header, PDF with pages, HTML) and section-aware chunking."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import CHUNK_TOKENS, split_text
from ingest.loaders.documents import load_document, load_markdown
from ingest.passages import document_passages
from ingest.records import IngestError

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "documents"
GUIDELINES = REPO / "corpora" / "guidelines"
pytestmark = pytest.mark.unit


def test_guideline_markdown_keeps_header_sections_and_codes():
    doc = load_markdown(GUIDELINES / "vertebral-augmentation-coverage.md")
    assert doc.meta["topic"] == "coverage" and doc.url.startswith("https://")
    assert "22514" in doc.codes
    assert len(doc.sections) >= 4 and all(s.heading for s in doc.sections)
    passages = document_passages(doc, "guidelines", "v1")
    assert all(p.kind == "coverage" and p.url == doc.url and p.section for p in passages)
    assert [p.chunk for p in passages] == list(range(len(passages)))
    assert len({p.point_id for p in passages}) == len(passages)


def test_every_bundled_guideline_has_the_full_header():
    files = [p for p in GUIDELINES.glob("*.md") if p.name != "README.md"]
    assert len(files) >= 18
    for path in files:
        meta = load_markdown(path).meta
        assert {"title", "topic", "codes", "source", "url", "version"} <= set(meta), path.name


def test_a_bad_header_names_file_and_line():
    with pytest.raises(IngestError, match=r"bad-header.md:3: header line is not 'key: value'"):
        load_markdown(FIXTURES / "bad-header.md")


def test_html_sections_follow_headings_and_drop_scripts():
    doc = load_document(FIXTURES / "coverage-note.html")
    assert doc.title == "Example coverage note"
    assert [s.heading for s in doc.sections] == ["Indications", "Limitations"]
    assert "var x" not in " ".join(s.text for s in doc.sections)
    passages = document_passages(doc, "lcd-example", "v1")
    assert set(passages[0].codes) >= {"22513", "22514"}


@pytest.mark.shared_data
def test_real_pdf_pages_become_cited_passages(shared_data):
    doc = load_document(shared_data / "hcpcs_level2_2019_cms" / "2019-Table-of-Drugs.pdf")
    assert doc.title == "2019 Table of Drugs"
    assert len(doc.sections) == 35 and doc.sections[0].page == 1
    passages = document_passages(doc, "hcpcs-2019-pdf", "2019")
    assert all(p.page for p in passages)
    assert any("J0185" in p.codes for p in passages)
    assert max(p.page for p in passages) == 35


def test_not_a_pdf_and_unknown_types_are_clear_errors(tmp_path):
    fake = tmp_path / "policy.pdf"
    fake.write_text("this is not a pdf")
    with pytest.raises(IngestError, match="policy.pdf: not a readable PDF"):
        load_document(fake)
    with pytest.raises(IngestError, match="unsupported document type '.docx'"):
        load_document(tmp_path / "policy.docx")


def test_long_text_is_split_and_short_text_is_kept_whole():
    assert split_text("One short section.") == ["One short section."]
    long_text = " ".join(f"Sentence number {i} explains one more rule about modifier use." for i in range(120))
    chunks = split_text(long_text)
    assert len(chunks) > 3
    assert all(len(c.split()) <= CHUNK_TOKENS for c in chunks)
    assert chunks[0].startswith("Sentence number 0")
