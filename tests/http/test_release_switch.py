"""A release switched in while the server runs is served by every endpoint, with no question asked first.

Real uvicorn on loopback over a real reference store; the new NCCI and HCPCS releases are written by the
ingest writer exactly as `casepilot-ingest` writes them. Reference data only (no vectors): what changes here
is read from the tables, and no embedding model is needed."""

from __future__ import annotations

import time

import httpx
import pytest
from loopback import ThreadServer

from ingest.records import ParsedRelease
from ingest.write_reference import write_release
from rag.app import CasePilot
from rag.settings import Settings
from rag.stores.schema import NO_DATE, CodeRecord, MueLimit, PtpEdit

pytestmark = [pytest.mark.http, pytest.mark.store]

SWITCH_TIMEOUT_S = 20.0

CODES = [
    CodeRecord("J1885", "HCPCS", "Ketorolac tromethamine inj", "Injection, ketorolac tromethamine, per 15 mg", row=2),
    CodeRecord("J3301", "HCPCS", "Triamcinolone acetonide inj", "Injection, triamcinolone acetonide, not otherwise "
               "specified, 10 mg", row=3),
]
NEW_CODE = CodeRecord("J0897", "HCPCS", "Denosumab injection", "Injection, denosumab, 1 mg", row=4)
FIRST_PTP = [PtpEdit("20610", "J3301", False, 20100101, NO_DATE, 1, "Standards of medical / surgical practice", 7)]
# The next quarter adds an edit between 20610 and J1885, with modifier indicator 0.
NEXT_PTP = [*FIRST_PTP, PtpEdit("20610", "J1885", False, 20260101, NO_DATE, 0, "Mutually exclusive procedures", 8)]
FIRST_MUE = [MueLimit("J1885", 8, 3, "Clinical: Data", 21), MueLimit("J3301", 4, 3, "Clinical: Data", 22)]
NEXT_MUE = [MueLimit("J1885", 4, 3, "Clinical: Data", 21), MueLimit("J3301", 4, 3, "Clinical: Data", 22)]


def _load(data_dir, dataset: str, version: str, items: list) -> None:
    write_release(data_dir, ParsedRelease(dataset, version, f"{dataset}-{version}.test", list(items)))


@pytest.fixture
def switching_server(tmp_path):
    _load(tmp_path, "hcpcs", "2026-01", CODES)
    _load(tmp_path, "ptp_practitioner", "2026Q1", FIRST_PTP)
    _load(tmp_path, "mue_practitioner", "2026Q1", FIRST_MUE)
    from api.main import create_app

    settings = Settings(data_dir=tmp_path)
    casepilot = CasePilot.open(settings, with_vectors=False, background_refresh=True)
    try:
        with ThreadServer(create_app(settings, casepilot=casepilot)) as server:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                yield tmp_path, client
    finally:
        casepilot.close()


def _claim(client: httpx.Client) -> dict:
    lines = [{"code": "20610"}, {"code": "J1885", "units": 6}]
    response = client.post("/v1/claims/check", json={"lines": lines})
    assert response.status_code == 200, response.text
    return response.json()


def _column2_edits(client: httpx.Client, code: str) -> list[dict]:
    response = client.get(f"/v1/codes/{code}")
    assert response.status_code == 200, response.text
    return response.json()["ptp_column2"]["edits"]


def _until(predicate, what: str):
    deadline = time.monotonic() + SWITCH_TIMEOUT_S
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"the running server never served {what} within {SWITCH_TIMEOUT_S} s")
        time.sleep(0.1)


def test_a_new_ptp_and_mue_release_reaches_code_pages_and_claim_checks(switching_server):
    data_dir, client = switching_server
    # The premise: the first quarter has no edit between 20610 and J1885, and 6 units are within its MUE of 8.
    assert _column2_edits(client, "J1885") == []
    before = _claim(client)
    assert before["ptp"] == [] and before["mue"] == [] and before["clean"] is True

    _load(data_dir, "ptp_practitioner", "2026Q2", NEXT_PTP)
    _load(data_dir, "mue_practitioner", "2026Q2", NEXT_MUE)

    edits = _until(lambda: _column2_edits(client, "J1885"), "the 2026Q2 PTP edit on the code page")
    assert [(e["column1"], e["modifier_indicator"], e["version"], e["row"]) for e in edits] == [
        ("20610", 0, "2026Q2", 8)]
    after = _until(lambda: (lambda c: c if c["mue"] else None)(_claim(client)), "the 2026Q2 MUE in claim checks")
    assert [(c["edit"]["column1"], c["outcome"], c["edit"]["version"]) for c in after["ptp"]] == [
        ("20610", "denied", "2026Q2")]
    assert [(m["code"], m["limit"], m["units"], m["mue"]["version"]) for m in after["mue"]] == [
        ("J1885", 4, 6, "2026Q2")]
    assert after["clean"] is False
    page = client.get("/v1/codes/J1885").json()
    assert [(m["value"], m["version"]) for m in page["mue"]] == [(4, "2026Q2")]


def test_the_search_cache_is_keyed_on_the_data_version(switching_server):
    data_dir, client = switching_server

    def codes() -> list[str]:
        response = client.get("/v1/search", params={"q": "denosumab injection"})
        assert response.status_code == 200, response.text
        return [hit["code"] for hit in response.json()["results"]]

    assert "J0897" not in codes()
    assert "J0897" not in codes()  # now answered from the response cache
    _load(data_dir, "hcpcs", "2026-04", [*CODES, NEW_CODE])
    found = _until(lambda: codes() if "J0897" in codes() else None, "the new HCPCS code in search")
    assert found[0] == "J0897"
