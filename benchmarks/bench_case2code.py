"""Case2Code benchmark: does QueryService.search_codes(descriptor) rank the right code first?

For every HCPCS Level II code of the ingested data (ReferenceStore.iter_codes("HCPCS"), the 2020 annual file
when ../shared/data is loaded), the query is the code's own long descriptor. Prints top-1 and top-5 accuracy
(strict: the code itself; lenient: a code with the very same descriptor, since CMS reuses some descriptors
word for word) and the search time. Target: >= 95 % strict top-1.

    CASEPILOT_DATA_DIR=/tmp/cp casepilot-ingest all        # once: corpora, ICD-10-CM, ../shared/data
    python benchmarks/bench_case2code.py --data-dir /tmp/cp [--sample 1000] [--lexical-only] [--misses 20]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("CASEPILOT_DATA_DIR"),
                        help="an ingested data folder (default: $CASEPILOT_DATA_DIR)")
    parser.add_argument("--sample", type=int, default=0, help="only this many codes, drawn with --seed")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--lexical-only", action="store_true", help="no dense half (search(semantic=False))")
    parser.add_argument("--include-terminated", action="store_true",
                        help="also codes with a termination date (by default they are counted separately)")
    parser.add_argument("--misses", type=int, default=10, help="print this many top-1 misses")
    args = parser.parse_args(argv)
    if not args.data_dir:
        parser.error("--data-dir (or CASEPILOT_DATA_DIR) is required")

    from rag.app import CasePilot
    from rag.settings import Settings

    casepilot = CasePilot.open(Settings(data_dir=args.data_dir))
    service = casepilot.services().query
    try:
        records = [s for s in service.reference.iter_codes("HCPCS") if s.fact.long_description.strip()]
        if not records:
            print("no HCPCS codes in this data folder: ingest the HCPCS file first", file=sys.stderr)
            return 2
        by_descriptor = defaultdict(set)
        for sourced in records:
            by_descriptor[sourced.fact.long_description.strip().lower()].add(sourced.fact.code)
        if args.sample:
            records = random.Random(args.seed).sample(records, min(args.sample, len(records)))
        search = service.code_search
        # Warm the lazily built indexes (vocabulary, code shapes) and the embedder before timing.
        search.search("injection", limit=5)
        service.search_codes("wheelchair cushion", limit=5)

        groups = {"active": defaultdict(int), "terminated": defaultdict(int)}
        times, misses = [], []
        started = time.perf_counter()
        for sourced in records:
            record = sourced.fact
            group = groups["terminated" if record.termination_date else "active"]
            query = record.long_description.strip()
            t0 = time.perf_counter()
            if args.lexical_only:
                hits = search.search(query, limit=5, semantic=False)
            else:
                hits = service.search_codes(query, limit=5)
            times.append((time.perf_counter() - t0) * 1000)
            codes = [h.code for h in hits]
            same = by_descriptor[query.lower()]
            group["n"] += 1
            group["top1"] += bool(codes) and codes[0] == record.code
            group["top5"] += record.code in codes
            group["top1_lenient"] += bool(codes) and codes[0] in same
            if codes and codes[0] != record.code and len(misses) < args.misses:
                misses.append((record.code, query[:70], codes[:3]))
        elapsed = time.perf_counter() - started
    finally:
        casepilot.close()

    load = os.getloadavg()
    print(f"Case2Code over HCPCS long descriptors ({args.data_dir}); {'lexical only' if args.lexical_only else 'lexical + dense'}")
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    totals = defaultdict(int)
    for name, group in groups.items():
        if not group["n"]:
            continue
        for key, value in group.items():
            totals[key] += value
        print(f"  {name:10} n={group['n']:5}  top-1 {group['top1'] / group['n']:.2%}  "
              f"top-5 {group['top5'] / group['n']:.2%}  top-1 (same descriptor) {group['top1_lenient'] / group['n']:.2%}")
    n = totals["n"]
    print(f"  {'all':10} n={n:5}  top-1 {totals['top1'] / n:.2%}  top-5 {totals['top5'] / n:.2%}  "
          f"top-1 (same descriptor) {totals['top1_lenient'] / n:.2%}   (target: top-1 >= 95 %)")
    print(f"search time: p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms, "
          f"mean {statistics.fmean(times):.1f} ms; {n} searches in {elapsed:.1f} s")
    if misses:
        print("top-1 misses (code, descriptor, top 3):")
        for code, query, top in misses:
            print(f"  {code}  {query!r} -> {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
