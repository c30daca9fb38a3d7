"""End to end: the bundled corpora ingested into a temporary data directory, then retrieved."""

from __future__ import annotations

import pytest

from rag.retrieve import HybridRetriever
from rag.stores.catalog import Catalog
from rag.stores.reference import ReferenceStore

pytestmark = pytest.mark.store


@pytest.fixture(scope="module")
def retriever(corpus_data_dir):
    from rag.providers.embedding import SentenceTransformerEmbedder
    from rag.settings import Settings
    from rag.stores.vectors import open_vector_store

    store = open_vector_store(Settings(data_dir=corpus_data_dir))
    yield HybridRetriever(store, SentenceTransformerEmbedder(), Catalog(corpus_data_dir))
    store.close()


def test_catalog_lists_every_bundled_source(corpus_data_dir):
    catalog = Catalog(corpus_data_dir)
    assert {"cpt", "modifiers", "guidelines"} <= set(catalog.active("passages"))
    assert {"cpt", "modifiers"} <= set(catalog.active("reference"))
    store = ReferenceStore(corpus_data_dir)
    assert store.lookup_code("22514")[0].fact.code_range == "22513-22515"
    assert store.lookup_code("XS")[0].fact.code_set == "MODIFIER"


def test_the_session_data_holds_the_icd10cm_release(corpus_data_dir):
    """Every session's test data carries ICD-10-CM (the package's FY2026 tabular), so a loader that cannot import
    fails the session's ingest instead of leaving the code set silently out of every test built on it."""
    release = Catalog(corpus_data_dir).active("reference").get("icd10cm")
    assert release is not None, "the session's test data has no ICD-10-CM release"
    assert release.version == "FY2026" and release.rows > 90_000 and release.rejected_rows == 0
    fact = ReferenceStore(corpus_data_dir).lookup_code("N20.0")[0].fact
    assert (fact.code_set, fact.long_description) == ("ICD10CM", "Calculus of kidney")


def test_a_code_finds_its_own_passage(retriever):
    hits = retriever.retrieve("CPT 22514", limit=5, boost_codes=["22514"]).hits
    assert hits[0].passage.doc_id == "CPT:22514"


def test_a_lay_phrase_finds_the_right_family(retriever):
    hits = retriever.retrieve("bone cement injected into a broken vertebra", limit=5).hits
    codes = {code for hit in hits for code in hit.passage.codes}
    assert codes & {"22510", "22511", "22513", "22514"}


def test_a_policy_question_finds_the_guideline(retriever):
    hits = retriever.retrieve("what does modifier indicator 9 mean on a PTP edit", limit=5).hits
    assert any(h.passage.source == "guidelines" and h.passage.doc_id == "ncci-ptp-edits" for h in hits)
