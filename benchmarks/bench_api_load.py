"""Load benchmark of the HTTP API: a real casepilot-serve process (embedded vector store) on loopback,
N concurrent clients (aiohttp coroutines in one process) sending a bounded number of mixed requests.

    python benchmarks/bench_api_load.py --data-dir /path/to/ingested/data [--requests 5000 --concurrency 50]

The data directory must already be ingested (``casepilot-ingest all``); it is copied to a temporary folder
first, because the embedded vector store can be opened by one process only (``--no-copy`` serves it in place).
The mix (fixed seed): 35% questions (real NCCI PTP pairs, unit and code questions over ~400 codes sampled from
the MUE table, and open guideline questions), 25% code pages, 20% code searches (lay phrases from the CPT
corpus) and 20% claim checks (a real PTP pair plus up to three other codes). Prints throughput, latency percentiles per kind,
status codes and errors, and the machine's load average (it may be shared), and optionally writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

# Fallbacks when the data directory cannot be sampled; normally the pools below come from the data itself.
PROCEDURES = ["22510", "22511", "22513", "22514", "22515", "99213", "99214", "20610", "11102", "11402", "45380",
              "45385", "36000", "64483", "62323", "77080", "93000", "71046", "80053", "96372"]
DRUGS = ["J1885", "J3301", "J1100", "J0696", "J2001"]
SEARCHES = ["bone cement spine fracture", "kyphoplasty", "knee joint injection", "office visit established patient",
            "colonoscopy biopsy", "chest x-ray", "ketorolac injection", "electrocardiogram", "lesion excision",
            "epidural steroid injection", "vertebroplasty lumbar", "comprehensive metabolic panel"]
OPEN_QUESTIONS = ["When is vertebral augmentation covered?", "When should I use modifier XS instead of 59?",
                  "How are drug units and waste reported?", "What does a global surgery period include?",
                  "How do I bill an E/M visit on the same day as a procedure?", "What are add-on codes?",
                  "Which place of service code applies to telehealth?", "When is modifier 25 appropriate?",
                  "How are professional and technical components billed for radiology?",
                  "What documentation supports medical necessity?"]
MIX = (("ask", 0.35), ("code_page", 0.25), ("search", 0.2), ("claim_check", 0.2))


class Pools:
    """What the requests are drawn from: real codes, real PTP pairs and lay phrases from the data directory."""

    def __init__(self, data_dir: Path | None, seed: int, codes: int = 400, pairs: int = 2000, phrases: int = 150):
        rng = random.Random(seed)
        self.codes, self.pairs, self.phrases = list(PROCEDURES + DRUGS), [], list(SEARCHES)
        if data_dir is None:
            return
        from rag.stores.reference import ReferenceStore

        store = ReferenceStore(data_dir)
        try:
            mue = sorted({code for connection, _ in store._of_kind("mue")
                          for (code,) in connection.execute("SELECT code FROM mue")})
            if mue:
                self.codes = rng.sample(mue, min(codes, len(mue))) + list(PROCEDURES + DRUGS)
            for connection, _ in store._of_kind("ptp", "ptp_practitioner"):
                self.pairs += sample_pairs(connection, rng, pairs)
            terms = sorted({term for sourced in store.iter_codes("CPT")
                            for term in sourced.fact.attributes.get("lay_terms") or []})
            if terms:
                self.phrases = rng.sample(terms, min(phrases, len(terms))) + list(SEARCHES)
        finally:
            store.close()
        if not self.pairs:
            self.pairs = [tuple(rng.sample(PROCEDURES, 2)) for _ in range(200)]


def sample_pairs(connection, rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Real PTP pairs, reproducible for a seed: a column 1 code drawn at random, then one of its edits (both
    lookups ride the primary key, so this takes milliseconds, not a scan per pair)."""
    column1 = [code for (code,) in connection.execute("SELECT DISTINCT column1 FROM ptp")]
    found = []
    for code in (rng.choice(column1) for _ in range(count)) if column1 else ():
        (edits,) = connection.execute("SELECT count(*) FROM ptp WHERE column1 = ?", (code,)).fetchone()
        found.append(connection.execute("SELECT column1, column2 FROM ptp WHERE column1 = ? LIMIT 1 OFFSET ?",
                                        (code, rng.randrange(edits))).fetchone())
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_requests(count: int, seed: int, pools: Pools | None = None) -> list[tuple[str, str, str, dict | None]]:
    """(kind, method, path, json body) for each request, drawn with a fixed seed."""
    pools = pools or Pools(None, seed)
    rng = random.Random(seed)
    kinds, weights = zip(*MIX)
    requests = []
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        if kind == "ask":
            shape = rng.random()
            a, b = rng.choice(pools.pairs)
            if shape < 0.4:
                question = f"Can {a} and {b} be billed together?"
            elif shape < 0.6:
                question = f"How many units of {rng.choice(pools.codes)} can be billed per day?"
            elif shape < 0.8:
                question = f"What is {rng.choice(pools.codes)}?"
            else:
                question = rng.choice(OPEN_QUESTIONS)
            requests.append((kind, "POST", "/v1/ask", {"question": question}))
        elif kind == "code_page":
            code = rng.choice(pools.codes)
            requests.append((kind, "GET", f"/v1/codes/{code}?page={rng.randint(1, 3)}&page_size=25", None))
        elif kind == "search":
            requests.append((kind, "GET", f"/v1/search?q={rng.choice(pools.phrases)}&limit=10", None))
        else:
            a, b = rng.choice(pools.pairs)
            codes = [a, b, *rng.sample(pools.codes, rng.randint(0, 3))]
            lines = [{"code": code, "units": rng.randint(1, 12), "modifiers": rng.choice([[], ["XS"], ["59"]])}
                     for code in codes]
            requests.append((kind, "POST", "/v1/claims/check", {"lines": lines}))
    return requests


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run_load(base_url: str, requests, concurrency: int, timeout: float) -> dict:
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    latencies: dict[str, list[float]] = {}
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    async def client_loop(session: aiohttp.ClientSession) -> None:
        while True:
            try:
                kind, method, path, body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            try:
                async with session.request(method, base_url + path, json=body) as response:
                    await response.read()
                elapsed = time.perf_counter() - started
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status >= 400:
                    errors[f"{kind} HTTP {response.status}"] = errors.get(f"{kind} HTTP {response.status}", 0) + 1
                latencies.setdefault(kind, []).append(elapsed)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                errors[f"{kind} {type(error).__name__}"] = errors.get(f"{kind} {type(error).__name__}", 0) + 1

    # aiohttp, not httpx: on two shared cores the load generator's own CPU per request decides how much is
    # left for the server (httpx spent about as much CPU per request as the server did).
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(session) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    everything = [v for values in latencies.values() for v in values]
    return {"wall_s": wall, "latencies": latencies, "all": everything, "statuses": statuses, "errors": errors}


def start_server(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEPILOT_")}
    env.update({"CASEPILOT_DATA_DIR": str(data_dir), "CASEPILOT_HOST": "127.0.0.1", "CASEPILOT_PORT": str(port),
                "CASEPILOT_GUEST_QUOTA_PER_DAY": "100000000", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false"})
    script = Path(sys.executable).with_name("casepilot-serve")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "api.server"]
    with open(log_path, "wb") as log:
        return subprocess.Popen([*command, "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base_url: str, process: subprocess.Popen, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server was not ready after {timeout:.0f}s")


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def report(result: dict, args, startup_s: float, server_cpu: float | None, load_before, load_after) -> dict:
    total = len(result["all"]) + sum(v for k, v in result["errors"].items() if "HTTP" not in k)
    ok = sum(n for status, n in result["statuses"].items() if status < 400)
    throughput = total / result["wall_s"] if result["wall_s"] else 0.0
    summary = {
        "requests": total, "ok": ok, "concurrency": args.concurrency, "wall_s": round(result["wall_s"], 2),
        "throughput_rps": round(throughput, 1),
        "p50_ms": round(percentile(result["all"], 50) * 1000, 1),
        "p95_ms": round(percentile(result["all"], 95) * 1000, 1),
        "p99_ms": round(percentile(result["all"], 99) * 1000, 1),
        "statuses": {str(k): v for k, v in sorted(result["statuses"].items())}, "errors": result["errors"],
        "by_kind": {kind: {"n": len(values), "p50_ms": round(percentile(values, 50) * 1000, 1),
                           "p95_ms": round(percentile(values, 95) * 1000, 1),
                           "mean_ms": round(statistics.fmean(values) * 1000, 1)}
                    for kind, values in sorted(result["latencies"].items())},
        "server_startup_s": round(startup_s, 1), "server_cpu_s": round(server_cpu, 1) if server_cpu else None,
        "server_cpu_ms_per_request": round(server_cpu / total * 1000, 2) if server_cpu and total else None,
        "cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": load_after,
        "target_rps": 150,
    }
    print(f"\n{total} requests ({ok} OK), {args.concurrency} concurrent clients, {summary['wall_s']} s")
    print(f"throughput: {summary['throughput_rps']} requests/s (target >= 150)")
    print(f"latency: p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, p99 {summary['p99_ms']} ms")
    for kind, numbers in summary["by_kind"].items():
        print(f"  {kind:12} n={numbers['n']:5}  p50 {numbers['p50_ms']:8} ms  p95 {numbers['p95_ms']:8} ms")
    print(f"statuses: {summary['statuses']}  errors: {summary['errors'] or 'none'}")
    print(f"server CPU: {summary['server_cpu_s']} s over {summary['wall_s']} s wall "
          f"({summary['server_cpu_ms_per_request']} ms per request; one process, mostly GIL-bound); "
          f"{os.cpu_count()} CPUs; load average before {load_before}, after {load_after} (the machine may be shared)")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="an ingested CasePilot data directory")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=200, help="requests sent first and not counted")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request timeout, seconds")
    parser.add_argument("--startup-timeout", type=float, default=600.0)
    parser.add_argument("--no-copy", action="store_true", help="serve --data-dir in place instead of a copy")
    parser.add_argument("--url", help="benchmark an already running server instead of starting one")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    if not (args.data_dir / "catalog.json").exists() and not args.url:
        parser.error(f"{args.data_dir} is not an ingested data directory (no catalog.json): run casepilot-ingest")

    workdir = Path(tempfile.mkdtemp(prefix="casepilot-bench-"))
    process = None
    try:
        if args.url:
            base_url, startup, pid = args.url.rstrip("/"), 0.0, None
        else:
            data_dir = args.data_dir
            if not args.no_copy:
                data_dir = workdir / "data"
                shutil.copytree(args.data_dir, data_dir, ignore=shutil.ignore_patterns("*.lock", "*.tmp"))
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            process = start_server(data_dir, port, workdir / "server.log")
            pid = process.pid
            startup = wait_ready(base_url, process, args.startup_timeout)
            print(f"server ready in {startup:.1f}s at {base_url}")
        pools = Pools(args.data_dir, args.seed)
        print(f"pools: {len(pools.codes)} codes, {len(pools.pairs)} PTP pairs, {len(pools.phrases)} search phrases, "
              f"{len(OPEN_QUESTIONS)} open questions")
        if args.warmup:
            asyncio.run(run_load(base_url, make_requests(args.warmup, args.seed + 1, pools), args.concurrency,
                                 args.timeout))
        cpu_before = cpu_seconds(pid) if pid else None
        load_before = [round(x, 2) for x in os.getloadavg()]
        result = asyncio.run(run_load(base_url, make_requests(args.requests, args.seed, pools), args.concurrency,
                                      args.timeout))
        load_after = [round(x, 2) for x in os.getloadavg()]
        cpu_after = cpu_seconds(pid) if pid else None
        server_cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
        summary = report(result, args, startup, server_cpu, load_before, load_after)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2))
        return 0
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
