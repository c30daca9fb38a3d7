"""Regression gate wall time (eval/gate.py): the core question set through a warm query service.

Opens the service over an ingested data folder, warms it with one question, then runs the gate and prints
its table, the seconds it took and the seconds per question. Target: the whole gate in under 180 s, so CI
can run it on every change.

    CASEPILOT_DATA_DIR=/tmp/cp casepilot-ingest all      # once
    python benchmarks/bench_gate.py --data-dir /tmp/cp [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_S = 180.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="an ingested data folder")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    from eval.gate import run_gate
    from rag.service import QueryService
    from rag.settings import Settings

    opened = time.perf_counter()
    service = QueryService.from_settings(Settings(data_dir=args.data_dir))
    service.ask("What is CPT 22514?")
    service.ask("Does Medicare cover kyphoplasty?")
    warm_s = time.perf_counter() - opened
    try:
        result = run_gate(service)
    finally:
        service.close()
    items = result.metrics.get("items") or 0
    print(result.table())
    print(f"service open + warm-up {warm_s:.1f} s; gate {result.seconds:.1f} s for {items} questions "
          f"({result.seconds / max(items, 1) * 1000:.0f} ms each); target < {TARGET_S:.0f} s: "
          f"{'met' if result.seconds < TARGET_S else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"gate_s": round(result.seconds, 2), "items": items, "warm_s": round(warm_s, 2),
                                         "passed": result.passed, "target_s": TARGET_S}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
