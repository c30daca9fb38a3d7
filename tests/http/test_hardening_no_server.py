"""Issue 15, finding 10, the parts that need no server: citation URLs and the widget's hrefs are checked on the
code (unit), and /readyz's failure detail through an in-process TestClient over a data directory whose vector store
cannot be opened (store). The served hardening is in test_hardening.py."""

from __future__ import annotations

import time

import pytest


@pytest.mark.unit
def test_only_http_urls_reach_a_citation():
    from rag.answer import Citation

    def url(value: str) -> str:
        return Citation(marker=1, kind="passage", source="s", title="t", version="v", locator="l", url=value).url

    assert url("https://www.cms.gov/medicare") == "https://www.cms.gov/medicare"
    for hostile in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<script>x</script>",
                    "vbscript:msgbox", "//evil.example/x", "file:///etc/passwd"):
        assert url(hostile) == "", hostile


@pytest.mark.unit
def test_the_widget_puts_only_http_urls_into_href():
    from api.routers.widget import STATIC

    source = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert "href: c.url" not in source and "safeUrl(c.url)" in source


@pytest.mark.store
def test_readyz_failure_names_no_absolute_path(tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from rag.settings import Settings

    data_dir = tmp_path / "private-data"
    data_dir.mkdir()
    (data_dir / "vectors").write_text("not a directory")  # the vector store cannot be opened
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        deadline = time.monotonic() + 120
        while (body := client.get("/readyz").json())["status"] == "starting" and time.monotonic() < deadline:
            time.sleep(0.2)
    assert body["status"] == "failed" and body["detail"]
    assert str(tmp_path) not in body["detail"] and "private-data" not in body["detail"]
