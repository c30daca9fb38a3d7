"""Issue 13: /readyz names the release each dataset serves and warns about every dataset that is not loaded
(a fresh clone offline has no NCCI, HCPCS, fee schedule or coverage files), so an operator sees the gaps."""

from __future__ import annotations

import time

import pytest

from rag.stores.schema import DATASETS, OPTIONAL_DATASETS, missing_datasets


@pytest.mark.unit
def test_missing_datasets_leave_out_the_loaded_and_the_optional():
    missing = missing_datasets(["cpt", "ptp_practitioner"])
    assert "cpt" not in missing and "ptp_practitioner" not in missing
    assert "cpt_licensed" not in missing  # a user's own licence: never reported as missing
    assert missing == [name for name in DATASETS if name not in {"cpt", "ptp_practitioner"} | OPTIONAL_DATASETS]


@pytest.mark.unit
def test_ready_body_warns_about_missing_datasets():
    from api.routers.health import ready_body

    body = ready_body({"ptp_practitioner": "2026Q2", "cpt": "2026"})
    assert body.status == "ok"
    assert body.releases == {"cpt": "2026", "ptp_practitioner": "2026Q2"}
    assert body.missing["mue_practitioner"] == DATASETS["mue_practitioner"].title
    assert "hcpcs" in body.missing and "cpt" not in body.missing and "cpt_licensed" not in body.missing
    assert body.detail.startswith("not loaded: ") and "mue_practitioner" in body.detail
    assert "casepilot-ingest fetch" in body.detail

    everything = ready_body({name: "1" for name in DATASETS if name not in OPTIONAL_DATASETS})
    assert everything.missing == {} and everything.detail == ""


@pytest.mark.store
def test_readyz_on_an_empty_data_dir_says_nothing_is_loaded(tmp_path):
    """A service opened over a data folder with nothing in it: 503 that names the command, not 'loading' forever,
    and every dataset listed as missing."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from rag.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        deadline = time.monotonic() + 180
        while "loading" in (response := client.get("/readyz")).json()["detail"] and time.monotonic() < deadline:
            time.sleep(0.2)
    body = response.json()
    assert response.status_code == 503 and body["status"] == "starting"
    assert body["detail"].startswith("no data loaded yet") and "casepilot-ingest corpora" in body["detail"]
    assert body["releases"] == {}
    assert set(body["missing"]) == set(DATASETS) - OPTIONAL_DATASETS
