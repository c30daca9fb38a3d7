"""ICD-10-CM load time: simple_icd_10_cm's tabular data turned into CodeRecords (ingest/loaders/icd10cm.py).

Reports CPU and wall seconds for the package import (it parses the 9.7 MB tabular XML once per process) and for
load_icd10cm() over every code, with the record count. Target: under 10 s of CPU in all on one core.

    python benchmarks/bench_icd10cm_load.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_CPU_S = 10.0


def timed(step):
    cpu, wall = time.process_time(), time.perf_counter()
    value = step()
    return value, time.process_time() - cpu, time.perf_counter() - wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    _, import_cpu, import_wall = timed(lambda: __import__("simple_icd_10_cm"))
    from ingest.loaders.icd10cm import load_icd10cm

    records, load_cpu, load_wall = timed(lambda: list(load_icd10cm()))
    figures = {"records": len(records), "import_cpu_s": round(import_cpu, 2), "import_wall_s": round(import_wall, 2),
               "load_cpu_s": round(load_cpu, 2), "load_wall_s": round(load_wall, 2),
               "total_cpu_s": round(import_cpu + load_cpu, 2), "target_cpu_s": TARGET_CPU_S}
    print(f"ICD-10-CM: {figures['records']:,} records")
    print(f"  package import  {import_cpu:6.2f} s CPU  {import_wall:6.2f} s wall")
    print(f"  load_icd10cm    {load_cpu:6.2f} s CPU  {load_wall:6.2f} s wall")
    verdict = "within" if figures["total_cpu_s"] < TARGET_CPU_S else "ABOVE"
    print(f"  total           {figures['total_cpu_s']:6.2f} s CPU ({verdict} the {TARGET_CPU_S:.0f} s target)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
