"""Embed + write steps against both vector stores: idempotent re-runs, release switches, hybrid search, boosts.

The stores are qdrant-edge (the embedded Qdrant shard, the real engine the service runs by default) and
qdrant-client in its local mode (``:memory:``): the client's own Python implementation of the API, not a Qdrant
server, so it checks the client code path but not what a server accepts; the request shapes a server receives
are checked in tests/rag/test_vectors.py."""

from __future__ import annotations

import warnings

import pytest

from ingest.pipeline import PassageWriter
from rag.providers.embedding import SentenceTransformerEmbedder
from rag.retrieve import HybridRetriever
from rag.stores.catalog import Catalog
from rag.stores.schema import Passage
from rag.stores.vectors import EdgeVectorStore, QdrantClientVectorStore

pytestmark = pytest.mark.store


@pytest.fixture(scope="module")
def embedder():
    return SentenceTransformerEmbedder()


@pytest.fixture(params=["edge", "qdrant-client-local"])
def store(request, tmp_path):
    if request.param == "edge":
        engine = EdgeVectorStore(tmp_path / "edge")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # local mode warns that payload indexes are a no-op there
            engine = QdrantClientVectorStore(":memory:", "passages")
    yield engine
    engine.close()


def passages(version: str, texts: list[str]) -> list[Passage]:
    return [Passage(source="guidelines", doc_id=f"doc{i}", version=version, chunk=0, text=text,
                    title=f"Doc {i}", codes=("22514",) if "kyphoplasty" in text.lower() else ())
            for i, text in enumerate(texts)]


TEXTS = ["Kyphoplasty creates a cavity with a balloon before bone cement is injected.",
         "Modifier 25 marks a significant, separately identifiable evaluation and management service.",
         "Medically unlikely edits cap the units of service reported per day."]


def test_rerun_embeds_nothing_and_writes_no_duplicates(store, embedder, tmp_path):
    writer = PassageWriter(store, embedder, Catalog(tmp_path))
    first = writer.write("guidelines", "v1", passages("v1", TEXTS))
    again = writer.write("guidelines", "v1", passages("v1", TEXTS))
    assert (first.embedded, again.embedded, again.unchanged) == (3, 0, 3)
    assert store.count() == 3
    edited = TEXTS[:2] + ["Medically unlikely edits (MUEs) cap units per day; MAI 3 edits can be appealed."]
    third = writer.write("guidelines", "v1", passages("v1", edited))
    assert (third.embedded, third.unchanged) == (1, 2)
    assert store.count() == 3


def test_new_version_becomes_visible_only_when_complete_and_replaces_the_old(store, embedder, tmp_path):
    catalog = Catalog(tmp_path)
    writer = PassageWriter(store, embedder, catalog)
    writer.write("guidelines", "v1", passages("v1", TEXTS))
    retriever = HybridRetriever(store, embedder, catalog)
    before = retriever.retrieve("kyphoplasty balloon cement", limit=3)
    assert before.hits[0].passage.version == "v1" and "22514" in before.hits[0].passage.codes
    # A new version written but not activated is invisible to queries filtered by the catalog.
    store.upsert(writer.embed(passages("v2", ["Kyphoplasty v2 text about balloons and cement."])))
    during = retriever.retrieve("kyphoplasty balloon cement", limit=5)
    assert {h.passage.version for h in during.hits} == {"v1"}
    report = writer.write("guidelines", "v2", passages("v2", TEXTS[:2]))
    assert report.removed == 3  # every v1 point is gone
    after = retriever.retrieve("kyphoplasty balloon cement", limit=5)
    assert {h.passage.version for h in after.hits} == {"v2"}
    assert store.count() == 2


def test_hybrid_search_finds_by_meaning_and_by_exact_words(store, embedder, tmp_path):
    catalog = Catalog(tmp_path)
    PassageWriter(store, embedder, catalog).write("guidelines", "v1", passages("v1", TEXTS))
    retriever = HybridRetriever(store, embedder, catalog)
    by_meaning = retriever.retrieve("bone cement spine fracture", limit=1).hits[0]
    assert by_meaning.passage.doc_id == "doc0" and by_meaning.similarity > 0.3
    by_words = retriever.retrieve("MUE units per day", limit=1, mode="sparse").hits[0]
    assert by_words.passage.doc_id == "doc2"


# One passage tagged with 22514 (kyphoplasty) and five about other things; only doc1 shares words with the query
# below, the others are near it in meaning only, so each ranks by its dense similarity alone.
BOOST_TEXTS = [TEXTS[0], TEXTS[1],
               "Medically unlikely edits cap the units reported per day.",
               "Two procedures on the same day may each be paid when documentation shows they were distinct.",
               "An office visit on the day of a minor procedure is usually included in its payment.",
               "Modifier 59 marks a procedure as distinct from another one billed the same day."]


def test_a_code_boost_lifts_a_passage_naming_the_code_into_the_top(store, embedder, tmp_path):
    catalog = Catalog(tmp_path)
    PassageWriter(store, embedder, catalog).write("guidelines", "v1", passages("v1", BOOST_TEXTS))
    retriever = HybridRetriever(store, embedder, catalog)
    question, limit = "separately identifiable service", 3
    # the premise: more passages than the limit, and the tagged one (doc0) outside the top without the boost
    everything = [h.passage.doc_id for h in retriever.retrieve(question, limit=len(BOOST_TEXTS)).hits]
    assert len(everything) == len(BOOST_TEXTS) > limit
    assert everything.index("doc0") >= limit, everything
    plain = [h.passage.doc_id for h in retriever.retrieve(question, limit=limit).hits]
    assert plain == everything[:limit]
    boosted = [h.passage.doc_id for h in retriever.retrieve(question, limit=limit, boost_codes=["22514"]).hits]
    # the effect: doc0 enters right after the clear match, which keeps first place; the others keep their order
    assert boosted == [plain[0], "doc0", *plain[1:limit - 1]], (plain, boosted)
    unrelated = [h.passage.doc_id for h in retriever.retrieve(question, limit=limit, boost_codes=["99213"]).hits]
    assert unrelated == plain  # a boost for a code no passage names changes nothing


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from ingest.pipeline import PassageWriter
from rag.providers.embedding import SentenceTransformerEmbedder
from rag.stores.catalog import Catalog
from rag.stores.schema import Passage
from rag.stores.vectors import EdgeVectorStore

data, version, activate = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "activate"
store = EdgeVectorStore(data / "edge")
writer = PassageWriter(store, SentenceTransformerEmbedder(), Catalog(data))
texts = ["Kyphoplasty text of release " + version, "Modifier 25 text of release " + version]
report = writer.stage("guidelines", version, [Passage(source="guidelines", doc_id=f"doc{i}", version=version,
                                                      chunk=0, text=t, title=f"Doc {i}") for i, t in enumerate(texts)])
if activate:  # killed after the catalog switch, before the replaced release's points were deleted
    writer.catalog.activate_together([("passages", report.release)])
store.close()
os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_writer(data_dir, version: str, activate: bool) -> None:
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(data_dir), version,
                             "activate" if activate else "stage"], env={**os.environ, "PYTHONPATH": str(repo)},
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == -signal.SIGKILL, result.stderr


def test_points_of_releases_a_killed_ingest_left_inactive_are_removed_by_the_next_run(embedder, tmp_path):
    catalog = Catalog(tmp_path)
    store = EdgeVectorStore(tmp_path / "edge")
    PassageWriter(store, embedder, catalog).write("guidelines", "v1", passages("v1", TEXTS))
    store.close()
    killed_writer(tmp_path, "v2", activate=False)  # staged v2, never activated
    store = EdgeVectorStore(tmp_path / "edge")
    try:
        assert store.count("guidelines@v2") == 2 and store.count("guidelines@v1") == 3  # premise
        assert [p.version for p in catalog.pending()] == ["v2"]
        removed = PassageWriter(store, embedder, catalog).remove_inactive()
        assert (removed, store.count("guidelines@v2"), store.count("guidelines@v1")) == (2, 0, 3)
        assert catalog.pending() == [] and catalog.active("passages")["guidelines"].version == "v1"
    finally:
        store.close()
    killed_writer(tmp_path, "v3", activate=True)  # v3 active, v1's points never deleted
    store = EdgeVectorStore(tmp_path / "edge")
    try:
        assert store.count("guidelines@v1") == 3  # premise
        assert PassageWriter(store, embedder, catalog).remove_inactive() == 3
        assert (store.count("guidelines@v1"), store.count("guidelines@v3")) == (0, 2)
    finally:
        store.close()
