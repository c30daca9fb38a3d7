"""Case2Code (rag/case2code.py): codes from a code, a mistyped code, a descriptor or lay words.

The tiny store tests the lexical half and the suggestions on their own (no retriever); the shared-data tests
run the full search (lexical + dense) over the real HCPCS 2020 file and the CPT corpus.
"""

from __future__ import annotations

import pytest

from rag import case2code
from rag.case2code import CodeSearch


@pytest.fixture(scope="module")
def search(tiny_store):
    return CodeSearch(tiny_store, retriever=None)


@pytest.mark.store
def test_a_code_in_the_query_comes_first_as_an_exact_hit(search):
    hits = search.search("22514", semantic=False)
    assert hits[0].code == "22514" and hits[0].source == "exact" and hits[0].score == 1.0


@pytest.mark.store
def test_descriptor_words_find_the_code(search):
    assert search.search("ketorolac injection", semantic=False)[0].code == "J1885"
    assert search.search("triamcinolone acetonide", semantic=False)[0].code == "J3301"


@pytest.mark.store
def test_lay_terms_are_searched(search):
    assert search.search("balloon", semantic=False)[0].code == "22514"


@pytest.mark.store
def test_misspelt_words_are_corrected_against_the_index_vocabulary(search):
    assert search.search("ketorolak injection", semantic=False)[0].code == "J1885"
    assert search.search("kyphoplsty lumbar", semantic=False)[0].code == "22514"


@pytest.mark.store
def test_code_sets_filter(search):
    hits = search.search("injection", semantic=False, code_sets=["CPT"])
    assert hits and all(h.code_set == "CPT" for h in hits)


@pytest.mark.store
def test_common_words_rank_but_do_not_gather_candidates(tiny_store, monkeypatch):
    """Only titles with an informative word are ranked (all the words rank them); a query of common words only
    needs them all, and falls back to any of them when no title has them all."""
    search = CodeSearch(tiny_store, retriever=None)
    monkeypatch.setattr(case2code, "GATE_DOCUMENTS", search.documents_with("injection") - 1)
    assert search.documents_with("ketorolac") <= case2code.GATE_DOCUMENTS < search.documents_with("injection")
    assert search.search("ketorolac injection", semantic=False)[0].code == "J1885"
    assert search.search("injection", semantic=False)
    assert [hit.fact.code for hit, _ in search.lexical("injection zzzz", 5)] == \
        [hit.fact.code for hit, _ in tiny_store.search_descriptors('"injection"', 5)]


@pytest.mark.store
def test_descriptors_contain_says_whether_any_title_has_the_word(tiny_store):
    assert tiny_store.descriptors_contain("ketorolac") and tiny_store.descriptors_contain("injection")
    assert not tiny_store.descriptors_contain("zzzzqqq")


@pytest.mark.store
def test_a_terminated_code_is_marked_deleted(search):
    hits = search.search("elastic garment sleeve", semantic=False)
    assert hits[0].code == "A4466" and hits[0].status == "deleted"


@pytest.mark.store
def test_nothing_matches_nothing(search):
    assert search.search("zzzz qqqq", semantic=False) == []
    assert search.search("   ", semantic=False) == []


@pytest.mark.store
@pytest.mark.parametrize("typo, nearest", [
    ("22541", {"22511", "22514"}),  # one substitution, or one swap of neighbours: both one edit away
    ("J1855", {"J1885"}),
    ("22154", {"22514"}),
])
def test_closest_codes_for_a_mistyped_code(search, typo, nearest):
    suggestions = search.closest_codes(typo)
    assert set(suggestions[:len(nearest)]) == nearest, suggestions  # nearest first
    assert all(len(code) == len(typo) for code in suggestions)


@pytest.mark.store
def test_a_code_of_another_length_is_not_offered(search):
    # the premise: 22514 is one edit from 2514 (a dropped digit) and is offered for a typo of its own length
    assert "22514" in search.closest_codes("22154")
    # the tiny store has no four-character code: a dropped digit gets no suggestion rather than 22514
    assert search.closest_codes("2514") == []


@pytest.mark.store
def test_closest_codes_are_nearest_first(search):
    # 22511 is one substitution from 22519; 20610 is far away
    suggestions = search.closest_codes("22519")
    assert suggestions[0] in {"22511", "22513", "22514"}
    assert "20610" not in suggestions


@pytest.mark.unit
def test_sentences_about_other_codes_do_not_describe_a_code():
    text = ("Diagnostic mammography of both breasts, used for symptoms. One breast is 77065; routine asymptomatic "
            "screening is 77067. It is 77066 itself.")
    assert case2code.own_sentences(text, "77066") == \
        "Diagnostic mammography of both breasts, used for symptoms. It is 77066 itself."
    assert case2code.own_sentences("Use 10061 when complicated.", "10060") == "Use 10061 when complicated."  # nothing else


@pytest.mark.unit
def test_a_part_only_service_ranks_below_the_whole_when_the_words_do_not_say_only(monkeypatch):
    part = ["Interpretation and written report only of a routine ECG"]
    penalised = case2code.descriptor_match("ECG with interpretation and report", part)
    asked_for_part = case2code.descriptor_match("ECG interpretation and report only", part)
    monkeypatch.setattr(case2code, "PART_ONLY_PENALTY", 0.0)
    assert penalised == pytest.approx(case2code.descriptor_match("ECG with interpretation and report", part) - 0.05)
    assert asked_for_part == case2code.descriptor_match("ECG interpretation and report only", part)  # said: no step


@pytest.mark.unit
def test_a_number_the_words_give_and_the_descriptor_lacks_counts_against_it(monkeypatch):
    texts = ["Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease"]
    penalised = case2code.descriptor_match("hypertensive chronic kidney disease stage 5", texts)
    assert case2code.NUMBER_MISSING > 0
    missing = case2code.NUMBER_MISSING
    monkeypatch.setattr(case2code, "NUMBER_MISSING", 0.0)
    assert penalised == pytest.approx(case2code.descriptor_match("hypertensive chronic kidney disease stage 5",
                                                                 texts) - missing)


# ---------------------------------------------------------------- real data

@pytest.mark.store
@pytest.mark.shared_data
@pytest.mark.parametrize("query, expected", [
    ("Injection, ketorolac tromethamine, per 15 mg", "J1885"),
    ("Injection, triamcinolone acetonide, not otherwise specified, 10 mg", "J3301"),
    ("annual wellness visit initial", "G0438"),
    ("kyphoplasty of one lumbar vertebra", "22514"),
    ("knee joint injection without ultrasound", "20610"),
    ("acute kidney failure, unspecified", "N17.9"),
    ("displaced fracture of base of neck of right femur, initial encounter for closed fracture", "S72.041A"),
    ("incision and drainage abscess simple", "10060"),  # 10061's "a single simple abscess is coded 10060"
    ("screening mammogram bilateral", "77067"),  # 77066's "routine asymptomatic screening is 77067"
])
def test_real_search_ranks_the_right_code_first(rag_service, query, expected):
    assert rag_service.search_codes(query, limit=5)[0].code == expected


@pytest.mark.store
@pytest.mark.shared_data
def test_real_deleted_code_found_but_marked(rag_service):
    hits = rag_service.search_codes("A4466", limit=3)
    assert hits[0].code == "A4466" and hits[0].status == "deleted"
