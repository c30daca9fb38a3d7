"""Fixtures of the rag tests; the shared data fixtures live in tests/conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # for rag_helpers, whatever pytest's import mode
    sys.path.insert(0, str(HERE))

import pytest  # noqa: E402

from rag.stores.schema import NO_DATE, CodeRecord, MueLimit, PtpEdit  # noqa: E402

# A few hand-made rows with everything the real derived NCCI files lack (dates, deleted edits, indicator 9,
# a hospital table), so exact answers can be checked line by line. Not real CMS values.
TINY_CODES = {
    "cpt": ("2026", [
        CodeRecord("22511", "CPT", "Vertebroplasty lumbosacral", lay_description="Vertebroplasty of one lumbar "
                   "vertebral body.", family="Percutaneous vertebroplasty", code_range="22510-22512", row=2),
        CodeRecord("22513", "CPT", "Vertebral augmentation thoracic", lay_description="Kyphoplasty of one "
                   "thoracic vertebral body.", family="Percutaneous vertebral augmentation", code_range="22513-22515",
                   row=4),
        CodeRecord("22514", "CPT", "Vertebral augmentation lumbar", lay_description="Kyphoplasty of one lumbar "
                   "vertebral body with a balloon.", family="Percutaneous vertebral augmentation",
                   code_range="22513-22515", row=5, attributes={"lay_terms": ["kyphoplasty", "balloon"]}),
        CodeRecord("20610", "CPT", "Major joint injection", lay_description="Injection into a major joint such "
                   "as the knee, without ultrasound guidance.", family="Arthrocentesis", code_range="20600-20611",
                   row=7),
    ]),
    "hcpcs": ("2020", [
        CodeRecord("J1885", "HCPCS", "Ketorolac tromethamine inj", "Injection, ketorolac tromethamine, per 15 mg",
                   row=11),
        CodeRecord("J3301", "HCPCS", "Triamcinolone acetonide inj", "Injection, triamcinolone acetonide, not "
                   "otherwise specified, 10 mg", row=12),
        CodeRecord("A4466", "HCPCS", "Elastic garment/covering", "Garment, belt, sleeve or other covering, elastic "
                   "or similar stretchable material, any type, each", termination_date=20161231, row=13),
        CodeRecord("XS", "MODIFIER", "Sep struct", "Separate structure, a service that is distinct because it was "
                   "performed on a separate organ/structure", row=14),
    ]),
    "modifiers": ("c1", [
        CodeRecord("59", "MODIFIER", "Distinct procedural service", lay_description="Marks a service as distinct "
                   "from another one billed the same day.", attributes={"when_to_use": "Only when no more "
                   "specific modifier fits.", "ncci": "Bypasses PTP edits with modifier indicator 1."}, row=1),
        CodeRecord("XS", "MODIFIER", "Separate structure", lay_description="A service on a separate organ or "
                   "structure.", attributes={"when_to_use": "A different site or organ."}, row=2),
    ]),
}
TINY_PTP = {
    "ptp_practitioner": [
        PtpEdit("22511", "22514", False, 20160101, NO_DATE, 1, "Misuse of column two code with column one code", 10),
        PtpEdit("22513", "22514", False, 20150101, NO_DATE, 0, "Mutually exclusive procedures", 11),
        PtpEdit("20610", "J3301", False, 20100101, 20191231, 1, "Standards of medical / surgical practice", 12),
        PtpEdit("20610", "J1885", False, 20170401, 20170401, 9, "Standards of medical / surgical practice", 13),
    ],
    "ptp_hospital": [
        PtpEdit("22511", "22514", False, 20160101, NO_DATE, 0, "Misuse of column two code with column one code", 7),
    ],
}
TINY_MUE = [
    MueLimit("J1885", 8, 3, "Clinical: Data", 21),
    MueLimit("22514", 1, 2, "Code Descriptor / CPT Instruction", 22),
    MueLimit("20610", 2, 1, "Anatomic Consideration", 23),
]


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """A reference store of the hand-made rows above (no vectors): fast, deterministic exact-answer tests."""
    from ingest.records import ParsedRelease
    from ingest.write_reference import write_release

    data_dir = tmp_path_factory.mktemp("tiny-reference")
    for dataset, (version, records) in TINY_CODES.items():
        write_release(data_dir, ParsedRelease(dataset, version, f"{dataset}.test", list(records)))
    for dataset, edits in TINY_PTP.items():
        write_release(data_dir, ParsedRelease(dataset, "2026Q2", f"{dataset}.test", list(edits)))
    write_release(data_dir, ParsedRelease("mue_practitioner", "2026Q2", "mue.test", list(TINY_MUE)))
    return data_dir


@pytest.fixture(scope="session")
def tiny_store(tiny_data_dir):
    from rag.stores.reference import ReferenceStore

    store = ReferenceStore(tiny_data_dir)
    yield store
    store.close()


@pytest.fixture(scope="session")
def tiny_service(tiny_data_dir, tiny_store):
    """A QueryService over the tiny store with no retriever: every answer comes from exact facts."""
    from rag.service import QueryService
    from rag.settings import Settings

    return QueryService(Settings(data_dir=tiny_data_dir), tiny_store, None)


# ---------------------------------------------------------------- a small passage index (qdrant-client, in memory)

def _mini_passages():
    from rag.stores.schema import Passage

    def p(source, doc_id, chunk, text, title, kind="guidance", codes=(), section=""):
        return Passage(source=source, doc_id=doc_id, version="v1", chunk=chunk, text=text, title=title, kind=kind,
                       section=section, codes=tuple(codes), url=f"https://example.org/{doc_id}", edition="2026")

    long_doc = [  # one long document about modifier 59 whose every chunk matches a modifier question well
        p("guidelines", "mod59", i, f"Modifier 59 marks a distinct procedural service. Part {i}: modifier 59 "
          f"and the X modifiers XE, XS, XP and XU bypass NCCI edits when services are separate.", "Modifier 59",
          section=f"Part {i}") for i in range(6)]
    others = [
        p("guidelines", "xmods", 0, "The X modifiers XE, XS, XP and XU are more specific subsets of modifier 59; "
          "use XS for a separate organ or structure.", "X modifiers"),
        p("guidelines", "anatomic", 0, "Anatomic modifiers such as LT, RT and F1 come before modifier 59 when they "
          "describe the distinct site.", "Anatomic modifiers"),
        p("guidelines", "epidural", 0, "Epidural steroid injection under fluoroscopy is reported once per session; "
          "imaging guidance is included.", "Epidural steroid injection"),
        p("guidelines", "epidural-codes", 0, "Transforaminal epidural injection at one lumbar level with imaging "
          "guidance.", "Transforaminal epidurals", codes=("64483",)),
        p("guidelines", "mue", 0, "A medically unlikely edit is the most units of service one provider reports for "
          "one patient on one day.", "MUE basics"),
        p("guidelines", "global", 0, "A 090 global period covers the day before surgery, the day of surgery and 90 "
          "days after it.", "Global surgery"),
    ]
    codes = [
        p("cpt", "CPT:22514", 0, "CPT 22514: kyphoplasty of one lumbar vertebral body with a balloon.", "CPT 22514",
          kind="code", codes=("22514",)),
        p("cpt", "CPT:20610", 0, "CPT 20610: injection into a major joint such as the knee, no ultrasound.",
          "CPT 20610", kind="code", codes=("20610",)),
    ]
    return {"guidelines": long_doc + others, "cpt": codes}


@pytest.fixture(scope="session")
def embedder():
    from rag.providers.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def mini_retriever(tmp_path_factory, embedder):
    """A HybridRetriever over a dozen hand-written passages in qdrant-client's local in-memory mode (the client's
    Python implementation, not a Qdrant server: see tests/rag/test_vectors.py for the server's requests)."""
    from ingest.pipeline import PassageWriter
    from rag.retrieve import HybridRetriever
    from rag.stores.catalog import Catalog
    from rag.stores.vectors import QdrantClientVectorStore

    data_dir = tmp_path_factory.mktemp("mini-index")
    store = QdrantClientVectorStore(":memory:", "passages")
    catalog = Catalog(data_dir)
    writer = PassageWriter(store, embedder, catalog)
    for source, passages in _mini_passages().items():
        writer.write(source, "v1", passages)
    retriever = HybridRetriever(store, embedder, catalog, candidate_k=30, per_document=2)
    yield retriever
    store.close()


# ---------------------------------------------------------------- a real OpenAI-compatible server (llm tests)

@pytest.fixture(scope="session")
def llm_server():
    """SmolLM2-135M behind llama.cpp's server (xllamacpp) on 127.0.0.1, in its own process; yields (url, model)."""
    import socket
    import subprocess
    import time
    import urllib.request

    import llm_server as server_script

    reason = server_script.unavailable()
    if reason:
        pytest.skip(f"no local LLM server: {reason}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # llama.cpp logs every request to stderr: not kept.
    process = subprocess.Popen([sys.executable, server_script.__file__, str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"the LLM server exited with code {process.returncode} before it was ready")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the LLM server did not become healthy within 180 s")
            time.sleep(0.5)
        yield f"{url}/v1", server_script.MODEL_ALIAS
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- the full service

@pytest.fixture(scope="session")
def rag_service(request):
    """The warm service over the full data: the shared ``query_service`` (corpora + real NCCI + HCPCS 2020,
    ingested once per session), or, when CASEPILOT_TEST_DATA_DIR names an already ingested folder, a service
    over that folder (for quick local runs: ``CASEPILOT_DATA_DIR=/tmp/cp casepilot-ingest all`` makes one)."""
    import os

    data_dir = os.environ.get("CASEPILOT_TEST_DATA_DIR")
    if not data_dir:
        yield request.getfixturevalue("query_service")
        return
    from rag.app import CasePilot
    from rag.settings import Settings

    casepilot = CasePilot.open(Settings(data_dir=Path(data_dir)))
    yield casepilot.services().query
    casepilot.close()
