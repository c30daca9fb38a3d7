"""Ingest benchmark: prints figures, asserts nothing.

1. The full NCCI practitioner PTP set (2.1M pairs) and MUE table (15k rows) from ../shared/data into a fresh
   reference store, next to a plain SQLite bulk insert of the same rows with one index (the floor).
2. Exact pair lookups: microseconds per lookup over random pairs.
3. The bundled corpora plus the 2020 HCPCS file, embedded and indexed into a fresh data directory:
   passages per second against the embedding model's raw encode rate on the same texts.

    python benchmarks/bench_ingest.py [--shared ../shared/data] [--skip-passages]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def plain_sqlite_floor(parts: list[Path], path: Path) -> float:
    """Parse the same JSON and bulk insert it with one index: what any loader must pay at least."""
    started = time.perf_counter()
    gc.disable()
    connection = sqlite3.connect(path)
    connection.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                             "CREATE TABLE ptp (c1 TEXT, c2 TEXT, prior INT, eff INT, del INT, mod INT, "
                             "rationale INT, row INT)")
    ids: dict[str, int] = {}
    row = 0
    for part in parts:
        with gzip.open(part, "rt") as handle:
            groups = json.load(handle)
        batch = []
        for column1, pairs in groups:
            for column2, indicator, rationale in pairs:
                row += 1
                batch.append((column1, column2, 0, 0, 99991231, indicator, ids.setdefault(rationale, len(ids)), row))
        connection.executemany("INSERT INTO ptp VALUES (?,?,?,?,?,?,?,?)", batch)
    connection.execute("CREATE INDEX pair ON ptp(c1, c2)")
    connection.commit()
    connection.close()
    gc.enable()
    return time.perf_counter() - started


def bench_reference(shared: Path) -> None:
    from ingest.loaders.ncci import load_mue_derived_json, load_ptp_derived_json
    from ingest.write_reference import write_release
    from rag.stores.reference import ReferenceStore

    derived = shared / "ncci_practitioner_2026q2_derived"
    parts = sorted(derived.glob("ptp-*.json.gz"))
    with tempfile.TemporaryDirectory() as tmp:
        floor = plain_sqlite_floor(parts, Path(tmp) / "floor.sqlite")
        data = Path(tmp) / "data"
        started = time.perf_counter()
        ptp = write_release(data, load_ptp_derived_json(parts, "2026Q2"))
        mue = write_release(data, load_mue_derived_json(derived / "mue.json.gz", "2026Q2"))
        total = time.perf_counter() - started
        print(f"PTP {ptp.rows:,} rows in {ptp.seconds:.1f} s; MUE {mue.rows:,} rows in {mue.seconds:.2f} s; "
              f"together {total:.1f} s (target < 15 s)")
        print(f"plain SQLite bulk insert of the same PTP rows with one index: {floor:.1f} s "
              f"(loader overhead {total - floor:+.1f} s)")
        store = ReferenceStore(data)
        connection = sqlite3.connect(data / "reference" / "ptp_practitioner" / "2026Q2.sqlite")
        pairs = connection.execute("SELECT column1, column2 FROM ptp ORDER BY random() LIMIT 2000").fetchall()
        pairs += [(a, str(int(b) + 1) if b.isdigit() else b) for a, b in pairs[:1000]]  # many with no edit
        timings = []
        for a, b in pairs:
            t = time.perf_counter()
            store.ptp_pair(a, b)
            timings.append((time.perf_counter() - t) * 1e6)
        print(f"exact pair lookup over {len(pairs):,} pairs: p50 {statistics.median(timings):.1f} us, "
              f"p99 {sorted(timings)[int(len(timings) * 0.99)]:.1f} us (target < 100 us)")


def bench_passages(shared: Path) -> None:
    from ingest.session import Run, ingest_corpora, ingest_hcpcs
    from rag.providers.embedding import SentenceTransformerEmbedder
    from rag.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        run = Run(Settings(data_dir=Path(tmp)))
        started = time.perf_counter()
        with run.progress:
            writer = run.writer  # loads the model once; timed separately below
            loaded = time.perf_counter()
            ingest_corpora(run, REPO / "corpora", icd10cm=False)
            hcpcs = shared / "hcpcs_level2_2020_cms" / "2020-Alpha-Numeric-HCPCS-File.zip"
            if hcpcs.exists():
                ingest_hcpcs(run, hcpcs, "2020")
        elapsed = time.perf_counter() - loaded
        run.close()
        passages = sum(row[3] for row in run.rows if row[0] == "passages")
        print(f"corpora + HCPCS 2020: {passages:,} passages embedded and indexed in {elapsed:.1f} s "
              f"(+{loaded - started:.1f} s model load; target < 180 s) = {passages / elapsed:.0f} passages/s")
        embedder: SentenceTransformerEmbedder = writer.embedder
        sample = random.sample(indexed_texts(shared), 2000)
        t = time.perf_counter()
        embedder.embed_documents(sorted(sample, key=len))
        raw = len(sample) / (time.perf_counter() - t)
        print(f"raw encode rate of the model on 2,000 of the same passage texts (one call, sorted by length): "
              f"{raw:.0f} texts/s; the pipeline runs at {passages / elapsed / raw:.0%} of it (the rest is "
              f"parsing, BM25, Qdrant writes)")


def indexed_texts(shared: Path) -> list[str]:
    """The texts the pipeline embeds for the corpora's code passages and the HCPCS file."""
    from ingest.loaders.corpora import load_cpt_corpus, load_modifier_corpus
    from ingest.loaders.hcpcs import load_hcpcs
    from ingest.passages import code_passages
    from ingest.records import RowError

    parsed = [load_cpt_corpus(REPO / "corpora" / "cpt"), load_modifier_corpus(REPO / "corpora" / "modifiers")]
    hcpcs = shared / "hcpcs_level2_2020_cms" / "2020-Alpha-Numeric-HCPCS-File.zip"
    if hcpcs.exists():
        parsed.append(load_hcpcs(hcpcs))
    records = [r for p in parsed for r in p.items if not isinstance(r, RowError)]
    return [p.indexed_text for p in code_passages(records, "bench", "0", "", "")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--skip-passages", action="store_true")
    args = parser.parse_args()
    if not args.shared.is_dir():
        raise SystemExit(f"{args.shared} is absent: this benchmark needs the real NCCI and HCPCS files")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    bench_reference(args.shared)
    if not args.skip_passages:
        bench_passages(args.shared)


if __name__ == "__main__":
    random.seed(7)
    main()
