"""Shared fixtures. Test tiers are named for what they touch: unit, store, http, browser, llm."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CORPORA = REPO / "corpora"

sys.path.insert(0, str(Path(__file__).resolve().parent))  # loopback.py, shared by the tiers (--import-mode=importlib)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data is absent ({SHARED_DATA}): the real CMS/CDC data lives only beside the "
                    "repository in this workplace")
    return SHARED_DATA


def _ingest(data_dir: Path, with_shared: bool) -> Path:
    from ingest.session import Run, ingest_corpora, ingest_shared
    from rag.settings import Settings

    run = Run(Settings(data_dir=data_dir))
    try:
        with run.progress:
            # ICD-10-CM always: its loader and package are declared dependencies, so a failing import is a
            # broken install that must fail the session, not test data silently missing a code set.
            ingest_corpora(run, CORPORA, icd10cm=True)
            if with_shared and SHARED_DATA.is_dir():
                ingest_shared(run, SHARED_DATA)
    finally:
        run.close()
    return data_dir


@pytest.fixture(scope="session")
def corpus_data_dir(tmp_path_factory) -> Path:
    """The bundled corpora (and ICD-10-CM) ingested into a fresh data directory, once per test session."""
    return _ingest(tmp_path_factory.mktemp("corpus-data"), with_shared=False)


@pytest.fixture(scope="session")
def full_data_dir(tmp_path_factory) -> Path:
    """Corpora plus the real NCCI PTP/MUE tables and the 2020 HCPCS file from ../shared/data."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data is absent ({SHARED_DATA})")
    prebuilt = os.environ.get("CASEPILOT_TEST_FULL_DATA_DIR")
    if prebuilt:  # a local shortcut while iterating: a directory made by `casepilot-ingest all`; CI leaves it unset
        import shutil

        target = tmp_path_factory.mktemp("full-data")
        shutil.copytree(prebuilt, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.lock"))
        return target
    return _ingest(tmp_path_factory.mktemp("full-data"), with_shared=True)


@pytest.fixture(scope="session")
def casepilot(full_data_dir):
    """One CasePilot over the full data (embedded edge engine), shared by the session: the composition root
    the server, the CLIs and eval use."""
    from rag.app import CasePilot
    from rag.settings import Settings

    casepilot = CasePilot.open(Settings(data_dir=full_data_dir))
    yield casepilot
    casepilot.close()


@pytest.fixture(scope="session")
def query_service(casepilot):
    """The warm query service over the full data as it is at the start of the session."""
    return casepilot.services().query
