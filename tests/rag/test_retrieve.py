"""Hybrid retrieval (rag/retrieve.py): dense + BM25 fused, codes as a boost, one document per slot pair.

Unit tests for the diversity cap; store tests on a dozen hand-written passages in qdrant-client's local
(in-memory) mode, the client's Python implementation (tests/rag/conftest.py), and on the real corpora through
the embedded engine of the shared service.
"""

from __future__ import annotations

import pytest

from rag.retrieve import diversify, lexical_rerank
from rag.stores.vectors import VectorQuery
from rag_helpers import hit

pytestmark = pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")


def ids(hits):
    return [f"{h.passage.source}:{h.passage.doc_id}" for h in hits]


# ---------------------------------------------------------------- diversity (unit)

@pytest.mark.unit
def test_diversify_caps_passages_per_document_and_keeps_rank_order():
    hits = [hit(f"a{i}", doc_id="long", chunk=i) for i in range(5)] + [hit("b", doc_id="b"), hit("c", doc_id="c")]
    kept = diversify(hits, limit=4, per_document=2)
    assert [h.passage.doc_id for h in kept] == ["long", "long", "b", "c"]
    assert [h.passage.chunk for h in kept[:2]] == [0, 1]


@pytest.mark.unit
def test_diversify_stops_at_the_limit():
    hits = [hit(str(i), doc_id=f"d{i}") for i in range(10)]
    assert len(diversify(hits, limit=3, per_document=2)) == 3


@pytest.mark.unit
def test_the_same_doc_id_in_two_sources_is_two_documents():
    hits = [hit("x", doc_id="d", source="guidelines", chunk=i) for i in range(3)]
    hits += [hit("y", doc_id="d", source="manual", chunk=i) for i in range(3)]
    kept = diversify(hits, limit=10, per_document=1)
    assert [(h.passage.source, h.passage.doc_id) for h in kept] == [("guidelines", "d"), ("manual", "d")]


@pytest.mark.unit
def test_lexical_rerank_lifts_the_chunk_that_holds_the_question_words():
    hits = [hit("Where to download the files and how to challenge a decision.", doc_id="d", chunk=0),
            hit("Contact details for the contractor are on the web page.", doc_id="d", chunk=1),
            hit("A medically unlikely edit is the most units of service reported per day.", doc_id="d", chunk=2)]
    reranked = lexical_rerank("What is a medically unlikely edit?", hits, weight=0.003)
    assert [h.passage.chunk for h in reranked] == [2, 0, 1]
    # with diversity at two chunks per document, the definition now keeps a slot
    assert 2 in [h.passage.chunk for h in diversify(reranked, 5, 2)]
    assert 2 not in [h.passage.chunk for h in diversify(hits, 5, 2)]


@pytest.mark.unit
def test_lexical_rerank_keeps_the_order_without_overlap_or_weight():
    hits = [hit(f"text {i}", doc_id=f"d{i}") for i in range(4)]
    assert lexical_rerank("zzz", hits) == hits
    assert lexical_rerank("text", hits, weight=0) == hits


# ---------------------------------------------------------------- retrieval on the mini index

@pytest.mark.store
def test_one_long_document_cannot_fill_every_slot(mini_retriever):
    # Every chunk of "mod59" matches this question; without the cap all five slots would be that document.
    question = "When do I use modifier 59 and XS?"
    raw = mini_retriever.store.search(VectorQuery(dense=mini_retriever.embedder.embed_query(question),
                                                  sparse=mini_retriever.sparse.query(question), limit=5))
    assert sum(h.passage.doc_id == "mod59" for h in raw) >= 3  # the premise: the document dominates raw ranks
    hits = mini_retriever.retrieve(question, limit=5).hits
    assert len(hits) == 5
    assert sum(h.passage.doc_id == "mod59" for h in hits) == 2
    assert "guidelines:xmods" in ids(hits)


@pytest.mark.store
def test_codes_are_a_boost(mini_retriever, monkeypatch):
    monkeypatch.setattr(mini_retriever, "lexical_weight", 0.0)  # the fused ranking alone
    question = "epidural steroid injection under fluoroscopy"
    plain = ids(mini_retriever.retrieve(question, limit=3).hits)
    boosted = ids(mini_retriever.retrieve(question, limit=3, boost_codes=["64483"]).hits)
    assert plain[0] == "guidelines:epidural"  # the premise: without the boost the other passage wins
    assert boosted[0] == "guidelines:epidural-codes"
    assert plain.index("guidelines:epidural-codes") > boosted.index("guidelines:epidural-codes")


@pytest.mark.store
def test_a_boost_code_no_passage_names_changes_nothing(mini_retriever):
    question = "How long is a 090 global period?"
    assert ids(mini_retriever.retrieve(question, limit=3).hits) == ids(
        mini_retriever.retrieve(question, limit=3, boost_codes=["99999"]).hits)


@pytest.mark.store
def test_kinds_restrict_the_passages(mini_retriever):
    hits = mini_retriever.retrieve("knee joint injection", limit=5, kinds=["code"]).hits
    assert hits and all(h.passage.kind == "code" for h in hits)
    assert ids(hits)[0] == "cpt:CPT:20610"


@pytest.mark.store
@pytest.mark.parametrize("mode", ["dense", "sparse", "hybrid"])
def test_every_mode_finds_the_obvious_passage(mini_retriever, mode):
    hits = mini_retriever.retrieve("medically unlikely edit units of service per day", limit=3, mode=mode).hits
    assert ids(hits)[0] == "guidelines:mue"


@pytest.mark.store
def test_similarity_is_a_cosine_and_timings_are_reported(mini_retriever):
    retrieved = mini_retriever.retrieve("kyphoplasty lumbar balloon", limit=3)
    top = retrieved.hits[0]
    assert ids([top]) == ["cpt:CPT:22514"]
    assert 0.3 < top.similarity <= 1.0
    assert all(h.similarity <= top.similarity + 0.2 for h in retrieved.hits)
    assert retrieved.embed_ms > 0 and retrieved.search_ms > 0


@pytest.mark.store
def test_only_active_releases_are_searched(mini_retriever):
    assert sorted(mini_retriever.active_releases()) == ["cpt@v1", "guidelines@v1"]


# ---------------------------------------------------------------- the real corpora (embedded engine)

@pytest.mark.store
@pytest.mark.shared_data
@pytest.mark.parametrize("question, expected", [
    ("What is an NCCI procedure-to-procedure edit?", "guidelines:ncci-ptp-edits"),
    ("What is the difference between MAI 2 and MAI 3?", "guidelines:ncci-mue"),
    ("How many days does a 090 global surgery period cover?", "guidelines:global-surgery"),
    ("What is the CPT code for a kyphoplasty of one lumbar vertebra?", "cpt:CPT:22514"),
])
def test_real_corpora_top5(rag_service, question, expected):
    hits = rag_service.retriever.retrieve(question, limit=5).hits
    assert expected in ids(hits)
    assert max(sum(1 for h in hits if ids([h]) == [i]) for i in ids(hits)) <= 2
