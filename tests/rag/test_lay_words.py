"""The clinical reading of lay words (rag/lay_words.py) and what code search makes of it.

Tables of a few rows test the reading itself; the project's table (corpora/vocabulary/lay_words.csv) is read as
the service reads it; the shared-data tests ask through the query service with the real ICD-10-CM and HCPCS files.
"""

from __future__ import annotations

import pytest

from rag.lay_words import LayWordsError, lay_words, read_lay_words


def _table(tmp_path, text: str):
    path = tmp_path / "lay_words.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def small(tmp_path):
    return read_lay_words(_table(tmp_path, "lay,clinical\nbone,osseous\nthigh bone,femur\nshot of,injection\n"
                                           "blood clot,thrombosis|embolism\npocket of pus,abscess\n"
                                           "of unknown cause,idiopathic\n"))


@pytest.mark.unit
def test_the_longest_phrase_is_read_first_and_a_rendering_is_not_read_again(small):
    assert small.reading("fracture of right thigh bone") == "fracture of right femur"
    assert small.reading("bone cyst") == "osseous cyst"


@pytest.mark.unit
def test_the_first_rendering_is_used_and_case_does_not_matter(small):
    assert small.reading("Blood Clot of leg") == "thrombosis of leg"


@pytest.mark.unit
def test_only_whole_words_are_read(small):
    assert small.reading("bones and backbone") == "bones and backbone"
    assert small.reading("a pocket-of-pus") == "a pocket-of-pus"


@pytest.mark.unit
def test_words_code_search_takes_off_are_optional_inside_a_phrase(small):
    """Code search gets the words without "of", "the", "for" ("pocket pus left armpit")."""
    assert small.reading("pocket pus left armpit") == "abscess left armpit"
    assert small.reading("pocket of pus of the armpit") == "abscess of the armpit"
    assert small.reading("shot ceftriaxone") == "injection ceftriaxone"
    assert small.reading("unknown cause hives") == "idiopathic hives"
    assert small.reading("for the pocket") == "for the pocket"


@pytest.mark.unit
@pytest.mark.parametrize("text, message", [
    ("lay,clinical\nthigh bone,femur,extra\n", "line 2 has 3 fields"),
    ("lay,clinical\nthigh bone,\n", "line 2 needs both"),
    ("lay,clinical\nthigh bone,femur\n\nthigh bone,femoral\n", "line 4: 'thigh bone' is listed twice"),
    ("layword,clinical\nthigh bone,femur\n", "line 1 must be the header lay,clinical"),
])
def test_a_malformed_table_is_refused_with_its_line(tmp_path, text, message):
    with pytest.raises(LayWordsError, match=message):
        read_lay_words(_table(tmp_path, text))


@pytest.mark.unit
def test_a_missing_table_is_said_with_its_path(tmp_path):
    with pytest.raises(LayWordsError, match="cannot read the lay-word vocabulary"):
        read_lay_words(tmp_path / "absent.csv")


@pytest.mark.unit
def test_the_projects_table_reads_lay_words_in_the_code_sets_words():
    table = lay_words()
    assert len(table.clinical) > 500
    assert table.reading("sudden kidney failure, not specified") == "acute kidney failure, unspecified"
    assert table.reading("shot of palifermin") == "injection palifermin"


# ---------------------------------------------------------------- through the query service, real data

def _first_code(answer) -> str:
    return answer.codes[0].code if answer.codes else ""


@pytest.mark.store
@pytest.mark.shared_data
@pytest.mark.parametrize("question, expected", [
    ("icd 10 code for sudden kidney failure", "N17.9"),  # the header's words only: its unspecified child
    ("dx code for pocket of pus of left armpit", "L02.412"),
    ("hcpcs code for a shot of palifermin, 50 micrograms", "J2425"),
])
def test_lay_words_reach_the_code(rag_service, question, expected):
    answer = rag_service.ask(question)
    assert _first_code(answer) == expected, answer.answer
    assert f" is {expected}: " in answer.sentences[0].text


@pytest.mark.store
@pytest.mark.shared_data
def test_a_lay_term_of_the_code_set_is_not_outdone_by_the_reading(rag_service):
    """"pink eye" is H10.9's own search term; read as "conjunctivitis" it would fit "Other conjunctivitis" too."""
    assert _first_code(rag_service.ask("pink eye")) == "H10.9"
