"""GET /healthz (the process is up), GET /readyz (the query service is ready, with the releases it serves and
the datasets it lacks), GET /metrics (Prometheus)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import get_runtime
from api.models import Health
from api.runtime import Runtime
from rag.stores.schema import DATASETS, missing_datasets

router = APIRouter(tags=["operations"])

# An absolute path (its folders) says where the data lives on the machine: the detail keeps the last part only.
ABSOLUTE_PATH = re.compile(r"(?<![\w.~])/(?:[^\s'\"/]+/)+(?=[^\s'\"/]*)")


def redact_paths(detail: str) -> str:
    return ABSOLUTE_PATH.sub(".../", detail)


def ready_body(releases: dict[str, str]) -> Health:
    """Ready: the release each dataset serves, and a warning naming the datasets that are not loaded."""
    missing = {name: DATASETS[name].title for name in missing_datasets(releases)}
    detail = ""
    if missing:
        detail = (f"not loaded: {', '.join(missing)}; answers cannot use them. Load them with `casepilot-ingest "
                  "fetch` (`casepilot-ingest status` lists what is loaded)")
    return Health(status="ok", detail=detail, releases=dict(sorted(releases.items())), missing=missing)


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health,
            summary="200 once the reference data and models are loaded; names the releases and the missing datasets",
            responses={503: {"model": Health, "description": "still starting, or failed to start"}})
async def readyz(runtime: Runtime = Depends(get_runtime)):
    services = runtime.services()
    if services is not None and services.query.ready():
        runtime.metrics.ready.set(1)
        releases = {name: r.version for name, r in services.snapshot.reference.releases().items()}
        return ready_body(releases)
    runtime.metrics.ready.set(0)
    status = "failed" if runtime.failure else "starting"
    body = Health(status=status, detail=redact_paths(runtime.failure) or "loading the reference data and models")
    if services is not None and not runtime.failure:  # open, but nothing to answer from: say so, not "loading"
        body = ready_body({name: r.version for name, r in services.snapshot.reference.releases().items()})
        body.status, body.detail = "starting", (
            "no data loaded yet: run `casepilot-ingest corpora` (or `make run`); the service takes it up once "
            f"loaded. {body.detail}").strip()
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})


@router.get("/metrics", summary="Prometheus metrics",
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                             "description": "Prometheus text format"}})
async def metrics(runtime: Runtime = Depends(get_runtime)) -> Response:
    runtime.ready()  # refresh the readiness gauge
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)
