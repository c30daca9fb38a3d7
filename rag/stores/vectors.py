"""Passage store: one interface, two engines with the same collection schema.

- ``EdgeVectorStore``: qdrant-edge, an in-process Qdrant shard on local disk (the embedded default).
- ``QdrantClientVectorStore``: qdrant-client against a Qdrant server (or its local mode for tests).

Hybrid search = dense prefetch + BM25 prefetch (+ a prefetch restricted to passages naming the question's
codes, which acts as a boost), fused with reciprocal rank fusion.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from rag.providers.sparse import SparseVector
from rag.settings import Settings
from rag.stores.schema import DENSE_DIM, DENSE_VECTOR, PAYLOAD_INDEXES, SPARSE_VECTOR, Passage

SearchMode = Literal["hybrid", "dense", "sparse"]
RRF_K = 60


@dataclass(frozen=True)
class EmbeddedPassage:
    passage: Passage
    dense: np.ndarray
    sparse: SparseVector


@dataclass(frozen=True)
class VectorQuery:
    dense: np.ndarray | None
    sparse: SparseVector | None
    limit: int = 10
    candidate_k: int = 30
    releases: Sequence[str] | None = None  # restrict to the active releases
    boost_codes: Sequence[str] = ()
    kinds: Sequence[str] | None = None
    mode: SearchMode = "hybrid"

    def legs(self) -> list[tuple[str, bool]]:
        """The ranked lists to fuse, as (vector name, restricted to passages naming the boost codes): dense and
        BM25 as the mode allows, plus one list of passages that name a code of the question (dense if given)."""
        has_sparse = self.sparse is not None and bool(self.sparse.indices)
        names = [name for name, usable in ((DENSE_VECTOR, self.dense is not None and self.mode != "sparse"),
                                           (SPARSE_VECTOR, has_sparse and self.mode != "dense")) if usable]
        legs = [(name, False) for name in names]
        if self.boost_codes and names:
            legs.append((names[0], True))
        return legs


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # the fused (RRF) or single-vector score: a rank signal, engine-specific in scale
    point_id: str = field(default="", compare=False)
    similarity: float = 0.0  # cosine between the query and the passage: comparable across engines


def _similarity(query: VectorQuery, vectors) -> float:
    if query.dense is None or not vectors:
        return 0.0
    vector = vectors.get(DENSE_VECTOR) if isinstance(vectors, dict) else None
    return float(np.dot(query.dense, np.asarray(vector))) if vector is not None else 0.0


class VectorStoreBusy(RuntimeError):
    """The embedded shard is open in another process (a running server or ingest)."""


class VectorStore(abc.ABC):
    @abc.abstractmethod
    def upsert(self, points: Sequence[EmbeddedPassage]) -> None: ...

    @abc.abstractmethod
    def content_hashes(self, point_ids: Sequence[str]) -> dict[str, str]:
        """content_hash of the points that exist, so unchanged chunks are not embedded again."""

    @abc.abstractmethod
    def delete_release(self, release: str) -> None: ...

    @abc.abstractmethod
    def point_ids(self, release: str) -> set[str]: ...

    @abc.abstractmethod
    def delete_points(self, point_ids: Sequence[str]) -> None: ...

    @abc.abstractmethod
    def count(self, release: str | None = None) -> int: ...

    @abc.abstractmethod
    def search(self, query: VectorQuery) -> list[Hit]: ...

    def close(self) -> None:  # noqa: B027  (an engine with nothing to release keeps this no-op)
        pass


# ---------------------------------------------------------------- qdrant-edge (embedded)

class EdgeVectorStore(VectorStore):
    def __init__(self, path: Path):
        import qdrant_edge as qe

        self._qe = qe
        path = Path(path)
        if (path / "edge_config.json").exists() or any(path.glob("segments*")):
            try:
                self._shard = qe.EdgeShard.load(str(path))
            except Exception as error:  # the binding raises a bare Exception
                if "WouldBlock" in str(error):
                    raise VectorStoreBusy(
                        f"the embedded vector store at {path} is open in another process (a running server or "
                        "ingest): stop it first, or use a Qdrant server (CASEPILOT_VECTOR_BACKEND=qdrant)") from error
                raise
        else:
            path.mkdir(parents=True, exist_ok=True)
            config = qe.EdgeConfig(
                vectors={DENSE_VECTOR: qe.EdgeVectorParams(size=DENSE_DIM, distance=qe.Distance.Cosine)},
                sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            )
            self._shard = qe.EdgeShard.create(str(path), config)
            for name, kind in PAYLOAD_INDEXES.items():
                schema = qe.PayloadSchemaType.Keyword if kind == "keyword" else qe.PayloadSchemaType.Integer
                self._shard.update(qe.UpdateOperation.create_field_index(name, schema))

    def upsert(self, points: Sequence[EmbeddedPassage]) -> None:
        qe = self._qe
        batch = [
            qe.Point(p.passage.point_id, {
                DENSE_VECTOR: p.dense.tolist(),
                SPARSE_VECTOR: qe.SparseVector(p.sparse.indices, p.sparse.values),
            }, p.passage.payload())
            for p in points
        ]
        if batch:
            self._shard.update(qe.UpdateOperation.upsert_points(batch))

    def content_hashes(self, point_ids: Sequence[str]) -> dict[str, str]:
        if not point_ids:
            return {}
        records = self._shard.retrieve(list(point_ids), with_payload=True, with_vector=False)
        return {str(r.id): (r.payload or {}).get("content_hash", "") for r in records}

    def _release_filter(self, release: str):
        qe = self._qe
        return qe.Filter(must=[qe.FieldCondition(key="release", match=qe.MatchValue(release))])

    def delete_release(self, release: str) -> None:
        self._shard.update(self._qe.UpdateOperation.delete_points_by_filter(self._release_filter(release)))

    def point_ids(self, release: str) -> set[str]:
        ids: set[str] = set()
        offset = None
        while True:
            records, offset = self._shard.scroll(self._qe.ScrollRequest(
                offset=offset, limit=1000, filter=self._release_filter(release), with_payload=False))
            ids.update(str(r.id) for r in records)
            if offset is None:
                return ids

    def delete_points(self, point_ids: Sequence[str]) -> None:
        if point_ids:
            self._shard.update(self._qe.UpdateOperation.delete_points(list(point_ids)))

    def count(self, release: str | None = None) -> int:
        flt = self._release_filter(release) if release else None
        return self._shard.count(self._qe.CountRequest(exact=True, filter=flt))

    def _filter(self, query: VectorQuery, codes: Sequence[str] = ()):
        qe = self._qe
        must = []
        if query.releases is not None:
            must.append(qe.FieldCondition(key="release", match=qe.MatchAny(list(query.releases))))
        if query.kinds:
            must.append(qe.FieldCondition(key="kind", match=qe.MatchAny(list(query.kinds))))
        if codes:
            must.append(qe.FieldCondition(key="codes", match=qe.MatchAny(list(codes))))
        return qe.Filter(must=must) if must else None

    def search(self, query: VectorQuery) -> list[Hit]:
        qe = self._qe
        legs = [(self._nearest(query, name), self._filter(query, query.boost_codes if boosted else ()))
                for name, boosted in query.legs()]
        if not legs:
            return []
        if len(legs) == 1:
            request = qe.QueryRequest(limit=query.limit, query=legs[0][0], filter=legs[0][1], with_payload=True,
                                      with_vector=[DENSE_VECTOR])
        else:
            request = qe.QueryRequest(limit=query.limit, query=qe.Fusion.Rrf(k=RRF_K), with_payload=True,
                                      prefetches=[qe.Prefetch(limit=query.candidate_k, query=vector, filter=flt)
                                                  for vector, flt in legs], with_vector=[DENSE_VECTOR])
        return [Hit(Passage.from_payload(p.payload or {}), p.score, str(p.id), _similarity(query, p.vector))
                for p in self._shard.query(request)]

    def _nearest(self, query: VectorQuery, name: str):
        qe = self._qe
        if name == DENSE_VECTOR:
            assert query.dense is not None  # VectorQuery.legs names only the legs whose vector is there
            return qe.Query.Nearest(query.dense.tolist(), using=DENSE_VECTOR)
        assert query.sparse is not None
        return qe.Query.Nearest(qe.SparseVector(query.sparse.indices, query.sparse.values), using=SPARSE_VECTOR)

    def close(self) -> None:
        self._shard.flush()
        self._shard.close()


# ---------------------------------------------------------------- qdrant-client (server)

class QdrantClientVectorStore(VectorStore):
    def __init__(self, location: str, collection: str, api_key: str | None = None):
        from qdrant_client import QdrantClient, models

        self._m = models
        if location.startswith(("http://", "https://")):
            self._client = QdrantClient(url=location, api_key=api_key)
        elif location == ":memory:":
            self._client = QdrantClient(location=":memory:")
        else:
            self._client = QdrantClient(path=location)
        self.collection = collection
        if not self._client.collection_exists(collection):
            schema = qdrant_collection(models)
            self._client.create_collection(collection, vectors_config=schema.vectors,
                                           sparse_vectors_config=schema.sparse_vectors)
            for index in qdrant_payload_indexes(models):
                self._client.create_payload_index(collection, index.field_name, index.field_schema)

    def upsert(self, points: Sequence[EmbeddedPassage]) -> None:
        m = self._m
        batch = [
            m.PointStruct(id=p.passage.point_id, payload=p.passage.payload(), vector={
                DENSE_VECTOR: p.dense.tolist(),
                SPARSE_VECTOR: m.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
            })
            for p in points
        ]
        if batch:
            self._client.upsert(self.collection, points=batch, wait=True)

    def content_hashes(self, point_ids: Sequence[str]) -> dict[str, str]:
        if not point_ids:
            return {}
        records = self._client.retrieve(self.collection, ids=list(point_ids), with_payload=["content_hash"])
        return {str(r.id): (r.payload or {}).get("content_hash", "") for r in records}

    def _release_filter(self, release: str):
        m = self._m
        return m.Filter(must=[m.FieldCondition(key="release", match=m.MatchValue(value=release))])

    def delete_release(self, release: str) -> None:
        selector = self._m.FilterSelector(filter=self._release_filter(release))
        self._client.delete(self.collection, points_selector=selector)

    def point_ids(self, release: str) -> set[str]:
        ids: set[str] = set()
        offset = None
        while True:
            records, offset = self._client.scroll(self.collection, scroll_filter=self._release_filter(release),
                                                  limit=1000, offset=offset, with_payload=False)
            ids.update(str(r.id) for r in records)
            if offset is None:
                return ids

    def delete_points(self, point_ids: Sequence[str]) -> None:
        if point_ids:
            self._client.delete(self.collection, points_selector=self._m.PointIdsList(points=list(point_ids)))

    def count(self, release: str | None = None) -> int:
        flt = self._release_filter(release) if release else None
        return self._client.count(self.collection, count_filter=flt, exact=True).count

    def search(self, query: VectorQuery) -> list[Hit]:
        request = qdrant_query_request(self._m, query)
        if request is None:
            return []
        result = self._client.query_points(self.collection, prefetch=request.prefetch, query=request.query,
                                           using=request.using, query_filter=request.filter, limit=request.limit,
                                           with_payload=request.with_payload, with_vectors=request.with_vector)
        return [Hit(Passage.from_payload(p.payload or {}), p.score, str(p.id), _similarity(query, p.vector))
                for p in result.points]

    def close(self) -> None:
        self._client.close()


# The requests a Qdrant server receives, built as qdrant-client's REST models (``qdrant_client.models``, generated
# from the server's OpenAPI schema): the store sends exactly these, and tests validate them without a server.

def qdrant_collection(models):
    """The collection schema: a cosine dense vector of DENSE_DIM and a BM25 sparse vector with the IDF modifier."""
    return models.CreateCollection(
        vectors={DENSE_VECTOR: models.VectorParams(size=DENSE_DIM, distance=models.Distance.COSINE)},
        sparse_vectors={SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )


def qdrant_payload_indexes(models) -> list:
    """One payload index per filtered field (release, kind, codes, ...), as PAYLOAD_INDEXES declares."""
    return [models.CreateFieldIndex(field_name=name, field_schema=models.PayloadSchemaType.KEYWORD
                                    if kind == "keyword" else models.PayloadSchemaType.INTEGER)
            for name, kind in PAYLOAD_INDEXES.items()]


def qdrant_filter(models, query: VectorQuery, codes: Sequence[str] = ()):
    must = []
    if query.releases is not None:
        must.append(models.FieldCondition(key="release", match=models.MatchAny(any=list(query.releases))))
    if query.kinds:
        must.append(models.FieldCondition(key="kind", match=models.MatchAny(any=list(query.kinds))))
    if codes:
        must.append(models.FieldCondition(key="codes", match=models.MatchAny(any=list(codes))))
    return models.Filter(must=must) if must else None


def _qdrant_vector(models, query: VectorQuery, name: str):
    if name == DENSE_VECTOR:
        assert query.dense is not None  # VectorQuery.legs names only the legs whose vector is there
        return models.NearestQuery(nearest=query.dense.tolist())
    assert query.sparse is not None
    return models.NearestQuery(nearest=models.SparseVector(indices=list(query.sparse.indices),
                                                           values=list(query.sparse.values)))


def qdrant_query_request(models, query: VectorQuery):
    """The query: one nearest search when a single leg is usable, else a prefetch per leg (dense, BM25, the
    boost codes' restricted list) fused with reciprocal rank fusion. None when no leg is usable."""
    legs = [(name, qdrant_filter(models, query, query.boost_codes if boosted else ())) for name, boosted in query.legs()]
    if not legs:
        return None
    if len(legs) == 1:
        (name, flt), = legs
        return models.QueryRequest(query=_qdrant_vector(models, query, name), using=name, filter=flt,
                                   limit=query.limit, with_payload=True, with_vector=[DENSE_VECTOR])
    prefetch = [models.Prefetch(query=_qdrant_vector(models, query, name), using=name, limit=query.candidate_k,
                                filter=flt) for name, flt in legs]
    return models.QueryRequest(prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.RRF),
                               limit=query.limit, with_payload=True, with_vector=[DENSE_VECTOR])


def open_vector_store(settings: Settings) -> VectorStore:
    """The single place the engine is chosen."""
    if settings.vector_backend == "qdrant":
        location = settings.qdrant_url or str(settings.vectors_dir / "qdrant-local")
        return QdrantClientVectorStore(location, settings.collection, settings.qdrant_api_key)
    return EdgeVectorStore(settings.vectors_dir / "edge")
