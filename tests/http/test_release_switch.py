"""A release switched in while the server runs is served by every endpoint, with no question asked first.

Real uvicorn on loopback over a real reference store; the new NCCI and HCPCS releases are written by the
ingest writer exactly as `casepilot-ingest` writes them. What changes here is read from the reference tables: the
code page, claim check and search tests need no vectors and no embedding model; /readyz answers 200 only once
passages are searchable, so its test writes one passage release and loads the model."""

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


def _load_first_quarter(data_dir) -> Settings:
    _load(data_dir, "hcpcs", "2026-01", CODES)
    _load(data_dir, "ptp_practitioner", "2026Q1", FIRST_PTP)
    _load(data_dir, "mue_practitioner", "2026Q1", FIRST_MUE)
    return Settings(data_dir=data_dir, guest_quota_per_day=1_000_000)  # the tests poll until the switch


def _serve(settings: Settings, casepilot: CasePilot):
    """The app over ``casepilot`` on loopback: (data dir, client); the service is closed afterwards."""
    from api.main import create_app

    try:
        with ThreadServer(create_app(settings, casepilot=casepilot)) as server:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                yield settings.data_dir, client
    finally:
        casepilot.close()


@pytest.fixture
def switching_server(tmp_path):
    settings = _load_first_quarter(tmp_path)
    yield from _serve(settings, CasePilot.open(settings, with_vectors=False, background_refresh=True))


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


def _cache_hits(client: httpx.Client, cache: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "casepilot_response_cache_total" and sample.labels == {"cache": cache,
                                                                                    "result": "hit"}:
                return sample.value
    return 0.0


@pytest.fixture
def ready_switching_server(tmp_path):
    """The same first quarter plus one passage release, so the server is ready (/readyz answers 200 only once
    passages are searchable): the embedding model is loaded, which the reference-only fixture avoids."""
    from ingest.pipeline import PassageWriter
    from rag.providers.embedding import SentenceTransformerEmbedder
    from rag.stores.catalog import Catalog
    from rag.stores.schema import Passage
    from rag.stores.vectors import open_vector_store

    settings = _load_first_quarter(tmp_path)
    embedder, store = SentenceTransformerEmbedder(), open_vector_store(settings)
    PassageWriter(store, embedder, Catalog(tmp_path)).write("guidelines", "v1", [Passage(
        source="guidelines", doc_id="mue", version="v1", chunk=0, title="MUEs",
        text="A medically unlikely edit caps the units of a code reported per day.")])
    yield from _serve(settings, CasePilot(settings, embedder=embedder, vector_store=store, generator=None,
                                          background_refresh=True))


def test_readyz_and_ask_follow_a_new_release_and_the_answer_cache_is_keyed_on_it(ready_switching_server):
    data_dir, client = ready_switching_server
    question = {"question": "How many units of J1885 per day?"}

    def releases() -> dict[str, str]:
        response = client.get("/readyz")
        assert response.status_code == 200, response.text
        return response.json()["releases"]

    def mue() -> list[tuple[int, str]]:
        response = client.post("/v1/ask", json=question)
        assert response.status_code == 200, response.text
        return [(m["value"], m["version"]) for m in response.json()["mue"]]

    assert releases()["mue_practitioner"] == "2026Q1"
    assert mue() == [(8, "2026Q1")]
    hits = _cache_hits(client, "ask")
    assert mue() == [(8, "2026Q1")]
    assert _cache_hits(client, "ask") == hits + 1  # the premise: the same question is now a cached answer

    _load(data_dir, "mue_practitioner", "2026Q2", NEXT_MUE)

    _until(lambda: releases()["mue_practitioner"] == "2026Q2", "the 2026Q2 MUE release on /readyz")
    assert _until(lambda: (lambda found: found if found != [(8, "2026Q1")] else None)(mue()),
                  "the 2026Q2 MUE in /v1/ask") == [(4, "2026Q2")]
