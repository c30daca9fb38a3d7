"""The requests the qdrant-client store sends a Qdrant server (rag/stores/vectors.py), checked without one.

The other store tests run qdrant-client in its local mode (``:memory:``): a Python re-implementation inside the
client, not the Qdrant engine, which ignores payload indexes and may accept what a server rejects. So the server
path is checked here by its request bodies: the collection schema, the payload indexes and the hybrid query
(prefetch per leg, fused by RRF) are built as qdrant-client's REST models, which are generated from the
server's OpenAPI schema and forbid unknown fields; each is serialized to the JSON a server receives and
validated back through the same models.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from qdrant_client import models

from rag.providers.sparse import SparseVector
from rag.stores.schema import DENSE_DIM, DENSE_VECTOR, PAYLOAD_INDEXES, SPARSE_VECTOR, release_key
from rag.stores.vectors import (
    VectorQuery,
    qdrant_collection,
    qdrant_payload_indexes,
    qdrant_query_request,
)

pytestmark = pytest.mark.unit

RELEASES = [release_key("guidelines", "v1"), release_key("cpt", "2026")]


def wire(model) -> dict:
    """The JSON body the REST client sends for a model, after checking the same models accept it back."""
    body = json.loads(model.model_dump_json(exclude_none=True))
    assert type(model).model_validate(body) == model
    return body


def unit_vector(seed: int = 1) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=DENSE_DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def query(**overrides) -> VectorQuery:
    fields = {"dense": unit_vector(), "sparse": SparseVector([3, 17, 905], [1.0, 0.5, 0.25]), "limit": 5,
              "candidate_k": 30, "releases": RELEASES}
    return VectorQuery(**(fields | overrides))


def test_collection_schema_names_a_cosine_dense_vector_and_an_idf_sparse_vector():
    body = wire(qdrant_collection(models))
    assert body == {"vectors": {DENSE_VECTOR: {"size": DENSE_DIM, "distance": "Cosine"}},
                    "sparse_vectors": {SPARSE_VECTOR: {"modifier": "idf"}}}


def test_payload_indexes_cover_every_filtered_field_with_its_type():
    bodies = [wire(index) for index in qdrant_payload_indexes(models)]
    assert {b["field_name"]: b["field_schema"] for b in bodies} == PAYLOAD_INDEXES
    filtered = {"release", "kind", "codes"}  # the fields qdrant_query_request filters on
    assert filtered <= {b["field_name"] for b in bodies}
    assert all(b["field_schema"] in {"keyword", "integer"} for b in bodies)


def test_hybrid_query_prefetches_dense_bm25_and_the_boost_list_then_fuses_by_rrf():
    q = query(boost_codes=["22514", "22511"], kinds=["guidance"])
    body = wire(qdrant_query_request(models, q))
    assert body["query"] == {"fusion": "rrf"}
    assert body["limit"] == 5 and body["with_payload"] is True and body["with_vector"] == [DENSE_VECTOR]
    assert "using" not in body and "filter" not in body  # the fusion itself reads no vector and filters nothing
    release = {"key": "release", "match": {"any": RELEASES}}
    kind = {"key": "kind", "match": {"any": ["guidance"]}}
    dense, bm25, boost = body["prefetch"]
    assert dense == {"query": {"nearest": pytest.approx(q.dense.tolist())}, "using": DENSE_VECTOR, "limit": 30,
                     "filter": {"must": [release, kind]}}
    assert bm25 == {"query": {"nearest": {"indices": [3, 17, 905], "values": [1.0, 0.5, 0.25]}},
                    "using": SPARSE_VECTOR, "limit": 30, "filter": {"must": [release, kind]}}
    assert boost["using"] == DENSE_VECTOR and boost["limit"] == 30
    assert boost["filter"] == {"must": [release, kind, {"key": "codes", "match": {"any": ["22514", "22511"]}}]}


def test_hybrid_query_without_codes_fuses_two_legs():
    body = wire(qdrant_query_request(models, query()))
    assert [leg["using"] for leg in body["prefetch"]] == [DENSE_VECTOR, SPARSE_VECTOR]
    assert all(leg["filter"] == {"must": [{"key": "release", "match": {"any": RELEASES}}]}
               for leg in body["prefetch"])


@pytest.mark.parametrize("mode, using", [("dense", DENSE_VECTOR), ("sparse", SPARSE_VECTOR)])
def test_a_single_leg_is_a_plain_nearest_query(mode, using):
    body = wire(qdrant_query_request(models, query(mode=mode)))
    assert "prefetch" not in body
    assert body["using"] == using and "nearest" in body["query"]
    assert body["filter"] == {"must": [{"key": "release", "match": {"any": RELEASES}}]}
    assert body["limit"] == 5


def test_no_usable_leg_sends_nothing():
    assert qdrant_query_request(models, query(mode="sparse", sparse=SparseVector([], []))) is None
    assert qdrant_query_request(models, query(dense=None, sparse=None)) is None


def test_every_release_filter_is_kept_even_when_empty():
    # an empty list of active releases must match nothing, not everything: the filter is still sent
    body = wire(qdrant_query_request(models, query(releases=[])))
    assert all(leg["filter"] == {"must": [{"key": "release", "match": {"any": []}}]} for leg in body["prefetch"])
