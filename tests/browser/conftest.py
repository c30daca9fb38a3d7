"""The browser tests share the HTTP tests' casepilot-serve subprocess (tests/http/casepilot_live.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "http"))

from casepilot_live import shared_server  # noqa: E402


@pytest.fixture(scope="session")
def widget_server(full_data_dir, tmp_path_factory):
    server, _ = shared_server(full_data_dir, tmp_path_factory)
    yield server
    server.stop()
