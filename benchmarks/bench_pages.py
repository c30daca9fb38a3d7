"""Code page benchmark: how long does GET /codes/{code} take to render, warm, for a page with 500 PTP rows?

Serves create_app over a private copy of the data directory (the embedded vector store is opened by one process)
on a real uvicorn on loopback, picks the code with the most column-1 edits (at least 500 rows with
``per_page=500``, unless --code is given), warms the page once, then times --requests sequential GETs with one
keep-alive client. Prints p50/p95/max of the whole HTTP round trip and, separately, of the server's own handling
(the page-builder, template render and middleware), measured inside the app. Target: p95 < 30 ms. Warm means the
page's visitor-independent body is cached per release (api/web/pagecache.py); the first render of a page
(cache miss) is printed too.

    python benchmarks/bench_pages.py                       # /work/data-full if present, else $CASEPILOT_DATA_DIR
    python benchmarks/bench_pages.py --data-dir /tmp/cp --requests 300
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

FULL_DATA = Path("/work/data-full")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else 0.0


def busiest_code(data_dir: Path) -> tuple[str, int]:
    import sqlite3

    from rag.stores.catalog import Catalog
    from rag.stores.reference import release_path

    release = Catalog(data_dir).active("reference").get("ptp_practitioner")
    if release is None:
        raise SystemExit("no NCCI PTP practitioner table is loaded in this data directory")
    path = release_path(data_dir / "reference", "ptp_practitioner", release.version)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        code, count = db.execute("SELECT column1, count(*) AS n FROM ptp GROUP BY column1 ORDER BY n DESC "
                                 "LIMIT 1").fetchone()
    return code, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = FULL_DATA if FULL_DATA.is_dir() else os.environ.get("CASEPILOT_DATA_DIR")
    parser.add_argument("--data-dir", type=Path, default=default, help="an ingested data folder")
    parser.add_argument("--code", help="the code to render (default: the one with the most column-1 edits)")
    parser.add_argument("--rows", type=int, default=500, help="PTP rows per column on the page")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cold", type=int, default=8, help="also time this many first renders (cache misses)")
    args = parser.parse_args(argv)
    if args.data_dir is None or not Path(args.data_dir).is_dir():
        print("no data directory: pass --data-dir (an ingested folder) or set CASEPILOT_DATA_DIR")
        return 2

    import httpx
    from loopback import ThreadServer

    from api.main import create_app
    from rag.app import CasePilot
    from rag.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data_dir, data, ignore=shutil.ignore_patterns("*.lock", "*.tmp"))
        code, total = (args.code, 0) if args.code else busiest_code(data)
        settings = Settings(data_dir=data, accounts_db=Path(tmp) / "accounts.sqlite",
                            guest_page_views_per_day=10_000_000, cookie_secure=False)
        casepilot = CasePilot.open(settings)
        app = create_app(settings, casepilot=casepilot)
        handled: list[float] = []

        @app.middleware("http")
        async def timing(request, call_next):  # innermost: the route, page builder and template
            started = time.perf_counter()
            response = await call_next(request)
            handled.append((time.perf_counter() - started) * 1000)
            return response

        try:
            with ThreadServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
                path = f"/codes/{code}?per_page={args.rows}"
                first = client.get(path)
                if first.status_code != 200:
                    print(f"GET {path}: {first.status_code}")
                    return 1
                rows = first.text.count("<tr class=")
                client.get(path)
                handled.clear()
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                size = len(response.content)
                warm_handled = list(handled)
                cold = []  # first renders of other PTP pages of the same code: the page builder and template
                for number in range(2, 2 + args.cold):
                    started = time.perf_counter()
                    assert client.get(f"{path}&p1={number}&p2={number}").status_code == 200
                    cold.append((time.perf_counter() - started) * 1000)
        finally:
            casepilot.close()
    print(f"code {code}: {total or '?'} column-1 edits; {rows} PTP rows rendered per page, {size / 1024:.0f} KiB")
    print(f"{args.requests} warm requests, one keep-alive client")
    print(f"  round trip  p50 {percentile(times, 50):6.1f} ms   p95 {percentile(times, 95):6.1f} ms   "
          f"max {max(times):6.1f} ms")
    print(f"  in the app  p50 {percentile(warm_handled, 50):6.1f} ms   p95 {percentile(warm_handled, 95):6.1f} ms   "
          f"max {max(warm_handled):6.1f} ms")
    if cold:
        print(f"  first render of a page (cache miss, {len(cold)} pages)  p50 {percentile(cold, 50):6.1f} ms   "
              f"p95 {percentile(cold, 95):6.1f} ms")
    target = percentile(times, 95) < 30
    print(f"target p95 < 30 ms (round trip): {'met' if target else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
